namespace Topiary.Regularization;

/// <summary>What the relevance gate exp(−s/α) of <see cref="RelevanceWeightDecay"/> reads as s.</summary>
public enum RelevanceSignal
{
    /// <summary>s = |∂L/∂w| of the current minibatch, as Bonetta et al.'s code does (the default).</summary>
    Minibatch,

    /// <summary>
    /// s = a running average of |∂L/∂w|: s ← β·s + (1 − β)·|g| each step, starting from the first |g|
    /// (β = <see cref="RelevanceGate.SignalDecay"/>). One minibatch's gradient of a single weight is noisy; its
    /// average over about 1/(1 − β) steps says more reliably whether the loss depends on that weight.
    /// </summary>
    RunningAverage,
}
