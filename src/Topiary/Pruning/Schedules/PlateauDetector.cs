namespace Topiary.Pruning.Schedules;

/// <summary>
/// LOBSTER's plateau test on the validation loss: an evaluation counts as progress when its loss is below
/// the best so far by more than the relative tolerance; after more than <see cref="Patience"/> evaluations
/// without progress (<c>pwe</c> in the reference code; 0 = every evaluation) the loss has plateaued.
/// </summary>
public sealed class PlateauDetector
{
    /// <summary>Creates the detector.</summary>
    /// <param name="patience">pwe, evaluations without progress tolerated, ≥ 0.</param>
    /// <param name="relativeTolerance">An improvement must beat best·(1 − tolerance).</param>
    public PlateauDetector(int patience, double relativeTolerance = 0.01)
    {
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "pwe must be ≥ 0");
        Patience = patience;
        RelativeTolerance = relativeTolerance;
    }

    /// <summary>pwe.</summary>
    public int Patience { get; }

    /// <summary>Relative improvement needed to count as progress.</summary>
    public double RelativeTolerance { get; }

    /// <summary>Lowest loss since the last reset.</summary>
    public double Best { get; private set; } = double.PositiveInfinity;

    /// <summary>Evaluations since the last progress.</summary>
    public int Stale { get; private set; }

    /// <summary>Records a validation loss; true when the loss has plateaued.</summary>
    public bool Observe(double loss)
    {
        if (loss < Best * (1 - RelativeTolerance) || double.IsPositiveInfinity(Best))
        {
            Best = loss;
            Stale = 0;
            return Patience == 0;
        }
        Best = Math.Min(Best, loss);
        Stale++;
        return Stale >= Patience;
    }

    /// <summary>Starts over (after a pruning event changed the loss landscape).</summary>
    public void Reset()
    {
        Best = double.PositiveInfinity;
        Stale = 0;
    }

    /// <summary>Restores counters saved from <see cref="Best"/> and <see cref="Stale"/>.</summary>
    public void Restore(double best, int stale)
    {
        Best = best;
        Stale = stale;
    }
}
