namespace Topiary.Pruning;

/// <summary>
/// The pruning rule of Bonetta et al. (as in the authors' code): at every evaluation, if the
/// validation metric is above the floor B, remove the fraction t of the remaining weights with the
/// smallest magnitude; otherwise keep training so the metric can recover. After k crops the
/// density is (1 − t)^k.
/// </summary>
/// <param name="CropFraction">t ∈ (0, 1): fraction of the still-unpruned weights removed per crop.</param>
/// <param name="Floor">B: the metric must be strictly above it for a crop.</param>
/// <param name="HigherIsBetter">True for accuracy, false for perplexity or loss (then the metric must be strictly below B).</param>
public sealed record IterativePruningSchedule(double CropFraction, double Floor, bool HigherIsBetter = true)
{
    /// <summary>Whether the metric allows a crop now.</summary>
    public bool ShouldPrune(double metric) => HigherIsBetter ? metric > Floor : metric < Floor;

    /// <summary>Whether the metric meets the floor for result selection (≥ B, or ≤ B when lower is better).</summary>
    public bool MeetsFloor(double metric) => HigherIsBetter ? metric >= Floor : metric <= Floor;
}
