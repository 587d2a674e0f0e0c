using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Vectors in the space of a model's trainable parameters, one tensor per parameter (of its shape, dtype and device), as
/// perturbation methods (AMP), the implicit hypergradient and its conjugate-gradient solve use them. Inner products are summed in float64.
/// </summary>
internal static class ParameterVectors
{
    /// <summary>Σ_i ⟨a_i, b_i⟩.</summary>
    public static double Dot(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
    {
        using var scope = NewDisposeScope();
        var sum = 0.0;
        for (var i = 0; i < a.Count; i++) sum += a[i].flatten().dot(b[i].flatten()).to(float64).item<double>();
        return sum;
    }

    /// <summary>The ℓ2 norm of the whole vector.</summary>
    public static double Norm(IReadOnlyList<Tensor> a) => Math.Sqrt(Dot(a, a));

    /// <summary>Zeros shaped like <paramref name="like"/>.</summary>
    public static Tensor[] Zeros(IReadOnlyList<Tensor> like) => like.Select(t => zeros_like(t).detach()).ToArray();

    /// <summary>Detached copies.</summary>
    public static Tensor[] Clone(IReadOnlyList<Tensor> a) => a.Select(t => t.detach().clone()).ToArray();

    /// <summary>target ← target + α·x, in place.</summary>
    public static void AddScaled(IReadOnlyList<Tensor> target, IReadOnlyList<Tensor> x, double alpha)
    {
        for (var i = 0; i < target.Count; i++) target[i].add_(x[i], alpha: HeldScalar.Of(alpha));
    }

    /// <summary>a ← α·a, in place.</summary>
    public static void Scale(IReadOnlyList<Tensor> a, double alpha)
    {
        foreach (var t in a) t.mul_(HeldScalar.Of(alpha));
    }

    /// <summary>Zeros the pruned entries in place: <paramref name="masks"/>[i] is the 0/1 mask of tensor i, or null when none is pruned.</summary>
    public static void Mask(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor?> masks)
    {
        for (var i = 0; i < a.Count; i++)
            if (masks[i] is { } mask) a[i].mul_(mask);
    }

    /// <summary>Takes every tensor out of the current dispose scope (the caller owns them).</summary>
    public static Tensor[] Owned(Tensor[] a)
    {
        foreach (var t in a) t.DetachFromDisposeScope();
        return a;
    }

    /// <summary>Moves every tensor to the dispose scope around the current one.</summary>
    public static Tensor[] ToOuterScope(Tensor[] a)
    {
        foreach (var t in a) t.MoveToOuterDisposeScope();
        return a;
    }

    /// <summary>Disposes every tensor.</summary>
    public static void Dispose(IEnumerable<Tensor>? a)
    {
        if (a is null) return;
        foreach (var t in a) t.Dispose();
    }
}
