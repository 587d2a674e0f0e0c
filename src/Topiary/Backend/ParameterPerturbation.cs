using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Moves parameters to θ + Δ for a second gradient and puts them back bit-exactly (from a saved copy, not by
/// subtracting Δ, which would leave rounding errors). Shared by SAM, AMP and F-GR, by quantization-aware training
/// (forward and backward at fake-quantized weights) and by <c>FakeQuantization.Applied</c>.
/// </summary>
internal sealed class ParameterPerturbation : IDisposable
{
    private readonly IReadOnlyList<Parameter> parameters;
    private readonly List<Tensor> saved;

    /// <summary>Saves the current values.</summary>
    public ParameterPerturbation(IReadOnlyList<Parameter> parameters)
    {
        this.parameters = parameters;
        using var _ = no_grad();
        saved = parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToList();
    }

    /// <summary>Sets θ ← θ₀ + Δ.</summary>
    public void MoveTo(IReadOnlyList<Tensor> delta)
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Count; i++) parameters[i].copy_(saved[i]).add_(delta[i]);
    }

    /// <summary>Sets θ ← <paramref name="values"/> (one tensor per parameter, of its shape).</summary>
    public void SetTo(IReadOnlyList<Tensor> values)
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Count; i++) parameters[i].copy_(values[i]);
    }

    /// <summary>The values saved when the perturbation began.</summary>
    public IReadOnlyList<Tensor> Saved => saved;

    /// <summary>The current gradients (zeros for parameters without one), cloned.</summary>
    public IReadOnlyList<Tensor> Gradients() => parameters.Select(p => p.grad?.detach().clone() ?? zeros_like(p)).ToList();

    /// <summary>Restores θ₀ exactly.</summary>
    public void Restore()
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Count; i++) parameters[i].copy_(saved[i]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in saved) t.Dispose();
    }
}
