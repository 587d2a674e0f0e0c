using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// The spectral scaling condition of Yang, Simon and Bernstein, "A Spectral Condition for Feature Learning" (arXiv
/// 2023, seed paper #47): features evolve at every width when each weight matrix and each of its updates has spectral
/// norm ‖W‖₂, ‖ΔW‖₂ = Θ(√(fan_out/fan_in)). A kernel is seen as fan_out × fan_in·k·k, a bias as an n × 1 matrix
/// (weights from a constant input), whose target is √n.
/// </summary>
public static class SpectralScaling
{
    /// <summary>√(fan_out/fan_in) of a tensor shaped like <paramref name="tensor"/>.</summary>
    public static double Target(Tensor tensor)
    {
        var (fanOut, fanIn) = Fans(tensor);
        return Math.Sqrt((double)fanOut / fanIn);
    }

    /// <summary>
    /// Replaces every matrix and kernel among <paramref name="parameters"/> by a random semi-orthogonal matrix
    /// (all singular values equal) times <paramref name="gain"/>·√(fan_out/fan_in), the paper's spectral initialization;
    /// vectors (biases) become zero.
    /// </summary>
    public static void Initialize(IEnumerable<Parameter> parameters, double gain = 1, Generator? generator = null)
    {
        if (!(gain > 0 && double.IsFinite(gain))) throw new ArgumentOutOfRangeException(nameof(gain), gain, "the gain must be a positive finite number");
        using var _ = no_grad();
        foreach (var parameter in parameters)
        {
            using var scope = NewDisposeScope();
            if (parameter.dim() < 2)
            {
                parameter.zero_();
                continue;
            }
            var (fanOut, fanIn) = Fans(parameter);
            var gaussian = randn(Math.Max(fanOut, fanIn), Math.Min(fanOut, fanIn), dtype: float64, generator: generator);
            var (q, r) = linalg.qr(gaussian);
            // The signs of R's diagonal make Q Haar-distributed instead of biased by the QR convention.
            var orthonormal = q.mul(r.diagonal().sign().unsqueeze(0));
            var semiOrthogonal = fanOut >= fanIn ? orthonormal : orthonormal.t();
            parameter.copy_(semiOrthogonal.mul(HeldScalar.Of(gain * Math.Sqrt((double)fanOut / fanIn))).reshape(parameter.shape));
        }
    }

    /// <summary>
    /// <paramref name="direction"/> rescaled to spectral norm <paramref name="rate"/>·√(fan_out/fan_in) (the exact
    /// spectral norm, by SVD); a zero direction stays zero.
    /// </summary>
    public static Tensor Normalize(Tensor direction, double rate)
    {
        using var scope = NewDisposeScope();
        var (fanOut, _) = Fans(direction);
        var norm = linalg.matrix_norm(direction.reshape(fanOut, -1), 2).clamp_min(HeldScalar.Of(1e-30));
        return direction.div(norm).mul_(HeldScalar.Of(rate * Target(direction))).MoveToOuterDisposeScope();
    }

    private static (long FanOut, long FanIn) Fans(Tensor tensor) =>
        tensor.dim() >= 2 ? (tensor.shape[0], tensor.numel() / tensor.shape[0]) : (tensor.numel(), 1);
}
