using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// LOBSTER's loss-based sensitivity shrinkage (Tartaglione, Bragagnolo, Fiandrotti, Grangetto, "LOss-Based
/// SensiTivity rEgulaRization", Neural Networks 2022, arXiv 2011.09905), as in the reference code: after
/// the optimizer step, w ← w − λ·w·max(0, 1 − |∂L/∂w|). Parameters the loss is insensitive to
/// (|g| → 0) shrink by the factor λ every step; those with |g| ≥ 1 are left alone. The step is not scaled
/// by the learning rate and does not pass through momentum.
/// </summary>
public sealed class LobsterShrinkage : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "lobster";

    /// <summary>w ← w − λ·w·relu(1 − |g|), with λ = <paramref name="strength"/> and g the (masked) loss gradient.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0 || grad is null) return;
        using var scope = NewDisposeScope();
        var insensitivity = grad.abs().neg_().add_(HeldScalar.Of(1)).relu_();
        weight.sub_(insensitivity.mul_(weight.detach()).mul_(HeldScalar.Of(strength)));
    }

    /// <summary>
    /// The penalty whose gradient is the shrinkage term with g held constant: (λ/2)·Σ relu(1 − |g|)·w².
    /// (LOBSTER applies it as a step after the optimizer rather than through the loss.)
    /// </summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        grad.detach().abs().neg().add(HeldScalar.Of(1)).relu().mul(weight.square()).sum().mul(HeldScalar.Of(strength / 2));
}
