using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// The per-layer operator norms of Scion (Pethick, Xie, Erdogan, Antonakopoulos, Cevher, Silveti-Falls, "Training
/// Deep Learning Models with Norm-Constrained LMOs", ICML 2025, seed paper #103), each scaled so that a unit ball
/// means the same at every width. A kernel is seen as fan_out × fan_in·k·k, a vector (bias) as an n × 1 column.
/// </summary>
public enum ScionNorm
{
    /// <summary>RMS→RMS operator norm √(fan_in/fan_out)·‖W‖₂ (hidden layers); LMO −ρ·√(fan_out/fan_in)·U·Vᵀ.</summary>
    Spectral,
    /// <summary>ℓ1→RMS operator norm max_j ‖W_:j‖₂/√fan_out (input layer, biases); LMO −ρ·√fan_out·G_:j/‖G_:j‖₂ per column.</summary>
    ColumnNorm,
    /// <summary>The max-entry norm scaled by fan_in, fan_in·max|W_ij| (output layer); LMO −(ρ/fan_in)·sign(G).</summary>
    Sign,
}

/// <summary>The linear minimization oracle lmo(d) = argmin_{‖s‖ ≤ ρ} ⟨d, s⟩ and the norm itself, for each <see cref="ScionNorm"/>.</summary>
public static class ScionOracle
{
    /// <summary>lmo(d) for the ball of radius <paramref name="radius"/>; U·Vᵀ by SVD when <paramref name="exactPolar"/>, else by Newton–Schulz.</summary>
    public static Tensor Lmo(Tensor direction, ScionNorm norm, double radius, bool exactPolar = false)
    {
        using var scope = NewDisposeScope();
        var matrix = MatrixView(direction);
        double fanOut = matrix.shape[0], fanIn = matrix.shape[1];
        var result = norm switch
        {
            ScionNorm.Spectral => (exactPolar ? NewtonSchulz.Exact(matrix) : NewtonSchulz.Approximate(matrix))
                .mul(HeldScalar.Of(-radius * Math.Sqrt(fanOut / fanIn))),
            ScionNorm.ColumnNorm => matrix.div(matrix.norm(0, keepdim: true).clamp_min(HeldScalar.Of(1e-30)))
                .mul(HeldScalar.Of(-radius * Math.Sqrt(fanOut))),
            ScionNorm.Sign => matrix.sign().mul(HeldScalar.Of(-radius / fanIn)),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return result.reshape(direction.shape).MoveToOuterDisposeScope();
    }

    /// <summary>‖w‖ in <paramref name="norm"/> (by SVD for the spectral norm).</summary>
    public static double Norm(Tensor weight, ScionNorm norm)
    {
        using var scope = NewDisposeScope();
        var matrix = MatrixView(weight).to(float64);
        double fanOut = matrix.shape[0], fanIn = matrix.shape[1];
        var value = norm switch
        {
            ScionNorm.Spectral => linalg.svdvals(matrix).max().mul(HeldScalar.Of(Math.Sqrt(fanIn / fanOut))),
            ScionNorm.ColumnNorm => matrix.norm(0).max().div(HeldScalar.Of(Math.Sqrt(fanOut))),
            ScionNorm.Sign => matrix.abs().max().mul(HeldScalar.Of(fanIn)),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return value.item<double>();
    }

    /// <summary>
    /// The dual norm ‖g‖_* = max_{‖s‖ ≤ 1} ⟨g, s⟩: √(fan_out/fan_in)·(sum of singular values) for <see cref="ScionNorm.Spectral"/>,
    /// √fan_out·Σ_j ‖G_:j‖₂ for <see cref="ScionNorm.ColumnNorm"/>, Σ|G_ij|/fan_in for <see cref="ScionNorm.Sign"/>.
    /// </summary>
    public static double DualNorm(Tensor gradient, ScionNorm norm)
    {
        using var scope = NewDisposeScope();
        var matrix = MatrixView(gradient).to(float64);
        double fanOut = matrix.shape[0], fanIn = matrix.shape[1];
        var value = norm switch
        {
            ScionNorm.Spectral => linalg.svdvals(matrix).sum().mul(HeldScalar.Of(Math.Sqrt(fanOut / fanIn))),
            ScionNorm.ColumnNorm => matrix.norm(0).sum().mul(HeldScalar.Of(Math.Sqrt(fanOut))),
            ScionNorm.Sign => matrix.abs().sum().div(HeldScalar.Of(fanIn)),
            _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
        };
        return value.item<double>();
    }

    private static Tensor MatrixView(Tensor t) => t.dim() >= 2 ? t.reshape(t.shape[0], -1) : t.reshape(-1, 1);
}
