using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Spectral regularization of Lewandowski, Kumar, Schuurmans, White, Machado, "Learning Continually by Spectral
/// Regularization" (seed paper #26): keep each layer's largest singular value near 1, which preserves gradient
/// diversity. R(W) = γ·(σ_max(W)^k − 1)² with k = 2 by default (a kernel is seen as out × in·k·k), and
/// ∂R/∂W = 2γ·k·σ^(k−1)·(σ^k − 1)·u·vᵀ with u, v the top singular vectors. σ_max comes from power iteration
/// whose vector persists across steps (one iteration per step is enough once warm, as in Miyato et al.'s
/// spectral normalization), so the cost is two matrix–vector products per layer.
/// </summary>
public sealed class SpectralRegularization : GradientRegularizer
{
    // The persistent right singular vector of each matrix; checkpoints keep it, so a resumed run stays bit-identical.
    private readonly PerParameterTensors rightVectors = new("", p => [WeightMatrix.Rows(p).shape[1]]);

    /// <summary>Creates the regularizer with exponent <paramref name="power"/> = k and <paramref name="iterations"/> power iterations per step.</summary>
    public SpectralRegularization(double power = 2, int iterations = 1)
    {
        if (!(power > 0)) throw new ArgumentOutOfRangeException(nameof(power), power, "the exponent must be positive");
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least one iteration");
        Power = power;
        Iterations = iterations;
    }

    /// <summary>k.</summary>
    public double Power { get; }

    /// <summary>Power iterations per call.</summary>
    public int Iterations { get; }

    /// <inheritdoc />
    public override string Name => "spectral";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <summary>σ_max(W), u and v by persistent power iteration (runs <see cref="Iterations"/> more iterations).</summary>
    public (double Sigma, Tensor U, Tensor V) TopSingular(Tensor weight)
    {
        using var _ = no_grad();
        var matrix = WeightMatrix.Rows(weight.detach());
        if (!rightVectors.TryGet(weight, out var v) || v.shape[0] != matrix.shape[1] || v.dtype != matrix.dtype)
        {
            v = normal(0, 1, new[] { matrix.shape[1] }, dtype: matrix.dtype, generator: new Generator((ulong)matrix.shape[1]));
            v.div_(v.norm());
            rightVectors.Set(weight, v);
        }
        Tensor u = matrix.mv(v);
        for (var i = 0; i < Iterations; i++)
        {
            u = matrix.mv(v);
            u = u.div(u.norm().clamp_min(HeldScalar.Of(1e-30)));
            var next = matrix.t().mv(u);
            v.copy_(next.div(next.norm().clamp_min(HeldScalar.Of(1e-30))));
        }
        u = matrix.mv(v);
        var sigma = u.norm().to(float64).item<double>();
        return (sigma, u.div(HeldScalar.Of(Math.Max(sigma, 1e-30))), v.clone());
    }

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var (sigma, u, v) = TopSingular(weight);
        var scale = 2 * strength * Power * Math.Pow(sigma, Power - 1) * (Math.Pow(sigma, Power) - 1);
        grad.add_(u.outer(v).reshape(weight.shape), alpha: HeldScalar.Of(scale));
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        rightVectors.Save(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        PerParameterTensors.Load(state, parameters, rightVectors);

    /// <summary>R(W) with the exact σ_max (from the singular values), for reports and checks.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        linalg.svdvals(WeightMatrix.Rows(weight)).max().pow(HeldScalar.Of(Power)).sub(HeldScalar.Of(1)).square().mul(HeldScalar.Of(strength));
}
