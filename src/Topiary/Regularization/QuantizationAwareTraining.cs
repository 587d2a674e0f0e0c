using Topiary.Backend;
using Topiary.Quantization;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Quantization-aware training as a regularizer, after QReg (AskariHemmat et al., "QReg: On Regularization Effects of
/// Quantization", seed paper #111), which models weight quantization as additive noise Q(w) − w whose size grows as the
/// precision falls. Every step runs its forward and backward pass at the fake-quantized weights
/// w̃ = w + λ·(Q(w) − w), Q on the grid of a <see cref="QuantizationScheme"/> with scales recomputed from the current
/// weights (s = max|w|/q, so nothing is clipped), and hands the gradient at w̃ to the float weights w with the
/// straight-through estimator (∂w̃/∂w taken as 1 inside the grid's range, 0 outside). λ is the strength: 1 (the
/// default) is plain fake quantization, smaller values add a fraction of the quantization noise, 0 none. The float weights
/// stay the optimizer's state ("shadow weights"), so the method works with any model, optimizer and schedule, without
/// changing the model's forward pass. Only weights (tensors of two or more dimensions) are quantized; biases stay float.
/// Zeros stay zeros (Q(0) = 0), so it composes with pruning masks. It replaces the backward pass, so it cannot be
/// combined with another term that does (SAM, AMP, F-GR).
/// </summary>
public sealed class QuantizationAwareTraining : GradientRegularizer
{
    /// <summary>Fake quantization on <paramref name="scheme"/>'s grid.</summary>
    public QuantizationAwareTraining(QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        Scheme = scheme;
    }

    /// <summary>The grid the weights are quantized to.</summary>
    public QuantizationScheme Scheme { get; }

    /// <inheritdoc />
    public override string Name => "qat";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <summary>R = (λ/2)·‖Q(w) − w‖², the size of the quantization noise, for reports; it has no gradient of its own (the noise acts through the forward pass).</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        using var scope = NewDisposeScope();
        var detached = weight.detach();
        var scales = FakeQuantization.Scales(detached, Scheme);
        var noise = FakeQuantization.Quantize(detached, scales, Scheme).sub(detached);
        return noise.square().sum().mul(HeldScalar.Of(strength / 2)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (!(strength >= 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "the share of quantization noise λ must be in [0, 1]");
        var weights = objective.Parameters.Where(p => p.requires_grad && AppliesTo(p)).ToList();
        using var perturbation = new ParameterPerturbation(weights);
        using (var scope = NewDisposeScope())
        {
            // The gradient at w̃ is handed to w unchanged: with s = max|w|/q no weight lies outside the grid's range,
            // where the straight-through estimator would give 0 (FakeQuantization.InRange).
            perturbation.SetTo(perturbation.Saved.Select(w =>
            {
                var quantized = FakeQuantization.Quantize(w, FakeQuantization.Scales(w, Scheme), Scheme);
                return strength == 1 ? quantized : w.add(quantized.sub(w).mul(HeldScalar.Of(strength)));
            }).ToList());
        }
        try
        {
            return objective.Backward();
        }
        finally
        {
            perturbation.Restore();
        }
    }
}
