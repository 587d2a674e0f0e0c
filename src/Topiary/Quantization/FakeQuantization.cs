using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Quantization;

/// <summary>
/// Fake quantization of weights with a straight-through estimator (STE), the training-time model of integer weights
/// used by quantization-aware training (QReg, AskariHemmat et al. 2022, seed paper #111; Bengio et al. 2013 for the STE):
/// Q(w) = s·clamp(round(w/s), −q, q) on the grid of a <see cref="QuantizationScheme"/>, whose gradient is taken as
/// ∂Q/∂w = 1 where round(w/s) lies in −q … q and 0 outside.
/// </summary>
public static class FakeQuantization
{
    /// <summary>
    /// The scales s = max|w|/q of <paramref name="weight"/>: shape [1, 1, …] for one per tensor, [out, 1, …] for one per
    /// output channel (row of a linear weight, filter of a kernel), so that they broadcast against the weight.
    /// An all-zero group gets scale 1.
    /// </summary>
    public static Tensor Scales(Tensor weight, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(scheme);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var magnitude = weight.detach().abs();
        var broadcast = Enumerable.Repeat(1L, (int)weight.dim()).ToArray();
        Tensor maxAbs;
        if (scheme.Granularity == QuantizationGranularity.PerChannel && weight.dim() >= 1)
        {
            maxAbs = magnitude.reshape(weight.shape[0], -1).amax(new long[] { 1 });
            broadcast[0] = weight.shape[0];
        }
        else
        {
            maxAbs = magnitude.max();
        }
        var scales = maxAbs.div(HeldScalar.Of(scheme.MaxLevel));
        scales = where(maxAbs.gt(HeldScalar.Of(0)), scales, ones_like(scales));
        return scales.reshape(broadcast).MoveToOuterDisposeScope();
    }

    /// <summary>Q(w) = s·clamp(round(w/s), −q, q), without gradient; zeros stay zeros.</summary>
    public static Tensor Quantize(Tensor weight, Tensor scales, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(scheme);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Levels(weight.detach(), scales, scheme).mul(scales).MoveToOuterDisposeScope();
    }

    /// <summary>The integer levels clamp(round(w/s), −q, q) as a float tensor (rounding half to even).</summary>
    public static Tensor Levels(Tensor weight, Tensor scales, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(scheme);
        using var scope = NewDisposeScope();
        return weight.div(scales).round().clamp(HeldScalar.Of(-scheme.MaxLevel), HeldScalar.Of(scheme.MaxLevel)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Q(w) in the forward pass with the straight-through gradient in the backward pass: m·w + (Q(w) − m·w).detach()
    /// with m = <see cref="InRange"/>, so that ∂/∂w is 1 inside the grid's range and 0 outside.
    /// </summary>
    public static Tensor StraightThrough(Tensor weight, Tensor scales, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(scheme);
        using var scope = NewDisposeScope();
        var passing = weight.mul(InRange(weight, scales, scheme));
        var quantized = Quantize(weight, scales, scheme);
        return passing.add(quantized.sub(passing).detach()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 1 where round(w/s) lies in −q … q (the straight-through gradient passes), 0 outside; decided on the rounded level,
    /// as PyTorch's fake quantization does, so that the largest weight of a group (w/s = q up to float rounding) passes.
    /// </summary>
    public static Tensor InRange(Tensor weight, Tensor scales, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(scheme);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return weight.detach().div(scales).round().abs().le(HeldScalar.Of(scheme.MaxLevel)).to_type(weight.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Replaces every weight of <paramref name="model"/> (parameters of two or more dimensions) by Q(w) on
    /// <paramref name="scheme"/>'s grid until the returned handle is disposed, which puts the float weights back
    /// bit for bit: <c>using (FakeQuantization.Applied(model, scheme)) task.Test(model);</c> measures the quantized model
    /// with the same code that measures the float one.
    /// </summary>
    public static IDisposable Applied(nn.Module model, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scheme);
        var perturbation = new ParameterPerturbation(model.parameters().Where(p => p.dim() >= 2).ToList());
        using var scope = NewDisposeScope();
        perturbation.SetTo(perturbation.Saved.Select(w => Quantize(w, Scales(w, scheme), scheme)).ToList());
        return new Restorer(perturbation);
    }

    private sealed class Restorer(ParameterPerturbation perturbation) : IDisposable
    {
        private bool restored;

        public void Dispose()
        {
            if (restored) return;
            restored = true;
            perturbation.Restore();
            perturbation.Dispose();
        }
    }
}
