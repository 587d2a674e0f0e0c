using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Analysis;

/// <summary>
/// Upper bounds on spectral norms by Gram iteration, from Delattre, Barthélemy, Araujo, Allauzen, "Efficient
/// Bound of Lipschitz Constant for Convolutional Layers by Gram Iteration" (ICML 2023, seed paper #31; checked
/// against the authors' <c>lip4conv/bounds.py</c>). With G₀ = W and G_{t+1} = G_tᴴ·G_t, σ₁(G_t) = σ₁(W)^(2^t) ≤ ‖G_t‖_F,
/// so σ₁(W) ≤ ‖G_t‖_F^(1/2^t) for every t, and the bound converges superlinearly to σ₁. Each G_t is divided by
/// its Frobenius norm before squaring and the logarithms of the factors are carried along, so nothing
/// overflows: log bound = (log‖Ĝ_T‖_F + Σ_t 2^(T−t)·log n_t)/2^T. A complex block B + iC is handled through its
/// real form [[B, −C], [C, B]], which has the same singular values (each twice).
/// </summary>
public static class GramIteration
{
    /// <summary>The bound on σ₁ of a matrix after <paramref name="iterations"/> Gram steps (0: the Frobenius norm).</summary>
    public static double SpectralNormBound(Tensor matrix, int iterations = 6)
    {
        using var scope = NewDisposeScope();
        return BatchedBounds(matrix.to(float64).unsqueeze(0), iterations)[0].item<double>();
    }

    /// <summary>
    /// Bounds for a batch of matrices (b × m × n): the bound of each. Used for the frequency blocks of a convolution.
    /// </summary>
    public static Tensor BatchedBounds(Tensor batch, int iterations)
    {
        if (iterations < 0) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "iterations must be ≥ 0");
        using var scope = NewDisposeScope();
        // The smaller Gram side is cheaper and has the same top singular value.
        var g = batch.shape[1] < batch.shape[2] ? batch.transpose(1, 2) : batch;
        var logScale = zeros(batch.shape[0], dtype: float64, device: batch.device);
        for (var t = 0; t < iterations; t++)
        {
            var norms = g.square().sum(new long[] { 1, 2 }).sqrt().clamp_min(HeldScalar.Of(1e-300));
            g = g.div(norms.reshape(-1, 1, 1));
            logScale = logScale.add(norms.log()).mul(HeldScalar.Of(2));
            g = g.transpose(1, 2).bmm(g);
        }
        var power = Math.Pow(0.5, iterations);
        var final = g.square().sum(new long[] { 1, 2 }).sqrt().clamp_min(HeldScalar.Of(1e-300)).log();
        return final.add(logScale).mul(HeldScalar.Of(power)).exp().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Bound on the spectral norm of a stride-1 convolution with kernel (out × in × k × k) acting on
    /// <paramref name="inputSize"/>×<paramref name="inputSize"/> images with circular padding: the maximum over
    /// frequencies of the bound of the kernel's 2-D DFT block (Sedghi et al. 2019's diagonalization). A
    /// zero-padded or "valid" convolution is a restriction of the circular one, so the bound holds for it too.
    /// </summary>
    public static double ConvolutionBound(Tensor kernel, long inputSize, int iterations = 6)
    {
        using var scope = NewDisposeScope();
        var k = kernel.to(float64);
        var n = Math.Max(inputSize, Math.Max(k.shape[2], k.shape[3]));
        // Half the spectrum suffices: the other frequencies hold the conjugate blocks, with the same singular values.
        var spectrum = fft.rfft2(k, new[] { n, n }).permute(2, 3, 0, 1).reshape(-1, k.shape[0], k.shape[1]);
        var (real, imaginary) = (spectrum.real, spectrum.imag);
        var embedded = cat(new[] { cat(new[] { real, imaginary.neg() }, 2), cat(new[] { imaginary, real }, 2) }, 1);
        return BatchedBounds(embedded, iterations).max().item<double>();
    }
}
