namespace Topiary.Pruning;

/// <summary>
/// The quality bound B of a pruning run (Bonetta et al.'s <c>acc_lower_bound</c>): pruning may go on
/// while the validation metric is strictly better than B, and the result is the smallest model whose
/// metric is at least as good as B. Works for metrics where higher is better (accuracy) and where
/// lower is better (perplexity: B is then a ceiling).
/// </summary>
/// <param name="Bound">B.</param>
/// <param name="HigherIsBetter">True for accuracy, false for perplexity or loss.</param>
public sealed record MetricFloor(double Bound, bool HigherIsBetter = true)
{
    /// <summary>Strictly better than B: a crop is allowed.</summary>
    public bool AllowsPruning(double metric) => HigherIsBetter ? metric > Bound : metric < Bound;

    /// <summary>At least as good as B: the checkpoint may be selected.</summary>
    public bool IsMetBy(double metric) => HigherIsBetter ? metric >= Bound : metric <= Bound;

    /// <summary>Whether <paramref name="candidate"/> is a better metric value than <paramref name="incumbent"/>.</summary>
    public bool IsBetter(double candidate, double incumbent) => HigherIsBetter ? candidate > incumbent : candidate < incumbent;

    /// <summary>The worst possible metric value, to start comparisons from.</summary>
    public double Worst => HigherIsBetter ? double.NegativeInfinity : double.PositiveInfinity;
}
