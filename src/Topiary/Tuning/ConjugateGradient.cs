using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// Conjugate gradients (Hestenes and Stiefel 1952) for A·x = b with A symmetric, given only as a product
/// <c>multiply(v) = A·v</c>, on vectors of parameter tensors (<see cref="ParameterVectors"/>). Stops when
/// ‖b − A·x‖ ≤ tolerance·‖b‖, after <c>maxIterations</c> products, or, when A is not positive definite along a search
/// direction p (pᵀA·p ≤ 0, common at the weights of a nonconvex network), at the current iterate, which is then the
/// minimizer of the quadratic model over the directions already explored (Steihaug's truncated CG without a trust region).
/// </summary>
internal static class ConjugateGradient
{
    /// <summary>Solves A·x = b from <paramref name="start"/> (or 0). Tensors are created in the caller's dispose scope.</summary>
    /// <exception cref="OperationCanceledException">Cancelled between two products.</exception>
    public static ConjugateGradientResult Solve(Func<IReadOnlyList<Tensor>, Tensor[]> multiply, IReadOnlyList<Tensor> b,
        double tolerance, int maxIterations, IReadOnlyList<Tensor>? start, CancellationToken cancellationToken)
    {
        var bNorm = ParameterVectors.Norm(b);
        if (bNorm == 0) return new ConjugateGradientResult(ParameterVectors.Zeros(b), 0, 0, true, false);
        var x = start is null ? ParameterVectors.Zeros(b) : ParameterVectors.Clone(start);
        var products = 0;
        var r = ParameterVectors.Clone(b);
        if (start is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            ParameterVectors.AddScaled(r, multiply(x), -1);
            products++;
        }
        var p = ParameterVectors.Clone(r);
        var rr = ParameterVectors.Dot(r, r);
        while (Math.Sqrt(rr) > tolerance * bNorm && products < maxIterations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var ap = multiply(p);
            products++;
            var curvature = ParameterVectors.Dot(p, ap);
            if (!(curvature > 0)) return new ConjugateGradientResult(x, products, Math.Sqrt(rr) / bNorm, false, true);
            var alpha = rr / curvature;
            ParameterVectors.AddScaled(x, p, alpha);
            ParameterVectors.AddScaled(r, ap, -alpha);
            var next = ParameterVectors.Dot(r, r);
            ParameterVectors.Scale(p, next / rr);
            ParameterVectors.AddScaled(p, r, 1);
            rr = next;
        }
        var residual = Math.Sqrt(rr) / bNorm;
        return new ConjugateGradientResult(x, products, residual, residual <= tolerance, false);
    }
}
