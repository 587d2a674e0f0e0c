namespace Topiary.Pruning;

/// <summary>
/// What a method's schedule ranks entries by when it prunes (the lowest scores go first). Every schedule, recipe and
/// method takes one (<see cref="Methods.PruningMethod.Criterion"/>); g is ∂L/∂w of the data loss (with any loss
/// penalty) at a step, before the regularizer's gradient is added, and w the weight at that step.
/// </summary>
public enum PruningCriterion
{
    /// <summary>|w| (Han et al. 2015): the default, and what every method ranked by before criteria existed.</summary>
    Magnitude,

    /// <summary>
    /// SNIP, connection sensitivity (Lee et al., ICLR 2019): |g·w| on the last step's minibatch, the first-order
    /// change of the loss when the weight is removed.
    /// </summary>
    Snip,

    /// <summary>
    /// First-order Taylor importance (Molchanov et al., CVPR 2019, per weight): Σ_t |g_t·w_t| accumulated over the
    /// steps since the last pruning event (since the start for the first), a less noisy SNIP.
    /// </summary>
    Taylor,

    /// <summary>
    /// Movement pruning (Sanh et al., NeurIPS 2020): S = −Σ_t g_t·w_t accumulated over every step of the run; a weight
    /// moving away from zero scores high, one moving towards it low, whatever its size. Meant for fine-tuning.
    /// </summary>
    Movement,
}
