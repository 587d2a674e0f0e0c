namespace Topiary.Regularization;

/// <summary>Where the relevance-gated decay 2γ·gate·w of <see cref="RelevanceWeightDecay"/> enters the step.</summary>
public enum DecayCoupling
{
    /// <summary>
    /// Added to the loss gradient, so it goes through the optimizer (and, under Adam, is divided by √v like the rest
    /// of the gradient): the paper's R = γ·Σ gate·w² added to the loss (the default).
    /// </summary>
    Coupled,

    /// <summary>
    /// Applied to the weights after the optimizer step, as AdamW decouples weight decay (Loshchilov and Hutter,
    /// "Decoupled Weight Decay Regularization", ICLR 2019): w ← w − 2ηγ·gate·w, with η the learning rate. The gate
    /// is the one computed from this step's loss gradient, before the step.
    /// </summary>
    Decoupled,
}
