using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// The orthogonal polar factor U·Vᵀ of a matrix G = U·Σ·Vᵀ, the direction of steepest descent under the
/// spectral norm. <see cref="Approximate"/> is Muon's quintic Newton–Schulz iteration (Jordan et al. 2024):
/// X ← G/‖G‖_F, then five times X ← a·X + (b·A + c·A²)·X with A = X·Xᵀ and (a, b, c) = (3.4445, −4.7750, 2.0315),
/// which maps every singular value into roughly [0.7, 1.2] without an SVD. <see cref="Exact"/> uses the SVD.
/// </summary>
public static class NewtonSchulz
{
    private const double A = 3.4445, B = -4.7750, C = 2.0315;

    /// <summary>Approximately orthogonalizes a 2-D tensor with <paramref name="steps"/> Newton–Schulz iterations.</summary>
    public static Tensor Approximate(Tensor matrix, int steps = 5)
    {
        using var scope = NewDisposeScope();
        var tall = matrix.shape[0] > matrix.shape[1];
        var x = tall ? matrix.t() : matrix;
        x = x.div(x.norm().add(HeldScalar.Of(1e-7)));
        for (var i = 0; i < steps; i++)
        {
            var a = x.matmul(x.t());
            var b = a.mul(HeldScalar.Of(B)).add(a.matmul(a).mul(HeldScalar.Of(C)));
            x = x.mul(HeldScalar.Of(A)).add(b.matmul(x));
        }
        return (tall ? x.t() : x).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>U·Vᵀ from the reduced SVD.</summary>
    public static Tensor Exact(Tensor matrix)
    {
        using var scope = NewDisposeScope();
        var (u, _, vh) = linalg.svd(matrix, fullMatrices: false);
        return u.matmul(vh).MoveToOuterDisposeScope();
    }
}
