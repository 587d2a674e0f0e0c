using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>The norm a tensor's steepest-descent step is measured in.</summary>
public enum SteepestDescentNorm
{
    /// <summary>Spectral norm (operator ℓ2→ℓ2) of the matrix view; step U·Vᵀ, dual norm the nuclear norm.</summary>
    Spectral,
    /// <summary>ℓ∞ (max) norm; step sign(g), dual norm ℓ1.</summary>
    Infinity,
    /// <summary>Euclidean (Frobenius) norm; step g/‖g‖₂, dual norm ℓ2.</summary>
    Euclidean,
}

/// <summary>
/// The duality maps of Bernstein and Newhouse, "Old Optimizer, New Norm: An Anthology" (seed paper #60):
/// for a gradient g and a norm ‖·‖, the unit-norm direction t* = argmax_{‖t‖ ≤ 1} ⟨g, t⟩ and the dual norm
/// ‖g‖_† = ⟨g, t*⟩.
/// </summary>
public static class DualityMap
{
    /// <summary>t* for <paramref name="norm"/>.</summary>
    public static Tensor Direction(Tensor gradient, SteepestDescentNorm norm)
    {
        using var scope = NewDisposeScope();
        var result = norm switch
        {
            SteepestDescentNorm.Spectral => NewtonSchulz.Exact(MatrixView(gradient)).reshape(gradient.shape),
            SteepestDescentNorm.Infinity => gradient.sign(),
            SteepestDescentNorm.Euclidean => gradient.div(gradient.norm().clamp_min(HeldScalar.Of(1e-30))),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>‖g‖_†: nuclear, ℓ1 or ℓ2 norm.</summary>
    public static double DualNorm(Tensor gradient, SteepestDescentNorm norm)
    {
        using var scope = NewDisposeScope();
        var value = norm switch
        {
            SteepestDescentNorm.Spectral => linalg.svdvals(MatrixView(gradient)).sum(),
            SteepestDescentNorm.Infinity => gradient.abs().sum(),
            SteepestDescentNorm.Euclidean => gradient.norm(),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return value.to(float64).item<double>();
    }

    /// <summary>‖t‖ in <paramref name="norm"/> itself (spectral, max or ℓ2).</summary>
    public static double Norm(Tensor tensor, SteepestDescentNorm norm)
    {
        using var scope = NewDisposeScope();
        var value = norm switch
        {
            SteepestDescentNorm.Spectral => linalg.svdvals(MatrixView(tensor)).max(),
            SteepestDescentNorm.Infinity => tensor.abs().max(),
            SteepestDescentNorm.Euclidean => tensor.norm(),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return value.to(float64).item<double>();
    }

    private static Tensor MatrixView(Tensor t) => t.dim() >= 2 ? t.reshape(t.shape[0], -1) : t.reshape(1, -1);
}
