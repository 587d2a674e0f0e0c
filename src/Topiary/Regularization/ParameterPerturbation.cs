using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Moves parameters to θ + Δ for a second gradient and puts them back bit-exactly (from a saved copy, not by
/// subtracting Δ, which would leave rounding errors). Shared by SAM, AMP and F-GR.
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

    /// <summary>The current gradients (zeros for parameters without one), cloned.</summary>
    public IReadOnlyList<Tensor> Gradients() => parameters.Select(p => p.grad?.detach().clone() ?? zeros_like(p)).ToList();

    /// <summary>The global ℓ2 norm of a list of tensors.</summary>
    public static double Norm(IReadOnlyList<Tensor> tensors) => Math.Sqrt(tensors.Sum(t => t.square().sum().to(float64).item<double>()));

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
