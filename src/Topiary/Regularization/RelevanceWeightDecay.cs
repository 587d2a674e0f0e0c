using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Relevance-gated weight decay of Bonetta, Ribero and Cancelliere, "Regularization-based Pruning of
/// Irrelevant Weights in Deep Neural Architectures" (Applied Intelligence 2023, arXiv 2204.04977):
/// R(w) = γ·Σ exp(−|∂L/∂w|/α)·w², with ∂L/∂w held constant, so ∂R/∂w = 2γ·exp(−|g|/α)·w.
/// Weights the loss does not depend on (|g| ≈ 0) get the full decay 2γw; relevant weights
/// (|g| ≫ α) get almost none. As α → ∞ it becomes plain L2 decay γ·Σw².
/// </summary>
public sealed class RelevanceWeightDecay : GradientRegularizer
{
    /// <summary>Creates the regularizer with the relevance scale α (the authors use 1).</summary>
    public RelevanceWeightDecay(double alpha = 1.0)
    {
        if (!(alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be positive");
        Alpha = alpha;
    }

    /// <summary>α: the gradient magnitude at which the decay falls to 1/e.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override string Name => "relevance";

    /// <summary>g ← g + 2γ·exp(−|g|/α)·w, computed from the loss gradient g before it is changed.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var gate = grad.abs().div_(-Alpha).exp_();
        grad.add_(gate.mul_(weight.detach()), alpha: 2 * strength);
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        grad.detach().abs().div(-Alpha).exp().mul(weight.square()).sum().mul(strength);
}
