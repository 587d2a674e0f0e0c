using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Gradient-norm clipping of Pascanu, Mikolov, Bengio, "On the difficulty of training Recurrent Neural
/// Networks" (ICML 2013, seed paper #39), against exploding gradients: with τ = strength and g the
/// concatenation of all gradients, g ← g·τ/‖g‖₂ when ‖g‖₂ &gt; τ, unchanged otherwise (the direction is kept).
/// <see cref="PerTensor"/> clips each tensor's gradient on its own instead. It regularizes nothing, so its penalty is 0.
/// </summary>
public sealed class GradientNormClipping : GradientRegularizer
{
    /// <summary>Creates the clipper; <paramref name="perTensor"/> clips tensor by tensor instead of globally.</summary>
    public GradientNormClipping(bool perTensor = false) => PerTensor = perTensor;

    /// <summary>Whether each tensor is clipped on its own.</summary>
    public bool PerTensor { get; }

    /// <inheritdoc />
    public override string Name => "clip";

    /// <inheritdoc />
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength)
    {
        if (!(strength > 0)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "the clipping threshold must be positive");
        using var scope = NewDisposeScope();
        var gradients = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        var groups = PerTensor ? gradients.Select(g => new List<Tensor> { g }) : new[] { gradients };
        foreach (var group in groups)
        {
            var norm = Math.Sqrt(group.Sum(g => g.square().sum().to(float64).item<double>()));
            if (norm <= strength) continue;
            foreach (var g in group) g.mul_(HeldScalar.Of(strength / norm));
        }
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
