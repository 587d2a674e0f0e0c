using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// SORSA of Cao, "SORSA: Singular Values and Orthonormal Regularized Singular Vectors Adaptation of Large Language
/// Models" (2024, seed paper #104), a fine-tuning regularizer. The pretrained weight (the one the first step sees; a kernel
/// as out × in·k·k) is split by its SVD W₀ = UΣVᵀ into the principal part of rank r, U_p diag(σ_p) V_pᵀ (the r largest
/// singular triplets), and the frozen residual W_r = W₀ − U_p diag(σ_p) V_pᵀ. U_p (m × r), σ_p (r) and V_p (n × r) train in
/// place of W, which is always W = W_r + U_p diag(σ_p) V_pᵀ, under the orthonormality penalty
/// <c>γ·(‖U_pᵀU_p − I‖²_F + ‖V_pᵀV_p − I‖²_F)</c>, γ the strength. Gradients by the chain rule from G = ∂L/∂W:
/// ∂/∂U_p = G·V_p·diag(σ_p) + 4γ·U_p(U_pᵀU_p − I), ∂/∂σ_p = diag(U_pᵀ·G·V_p), ∂/∂V_p = Gᵀ·U_p·diag(σ_p) + 4γ·V_p(V_pᵀV_p − I).
/// <para>
/// How it runs inside the training step: the factors and their Adam (learning rate <see cref="LearningRate"/>) belong to the
/// regularizer. <see cref="AddGradient"/> only records W₀ the first time it sees a weight; <see cref="Project"/>, after the
/// model's optimizer has stepped, takes W's masked gradient (loss plus the other terms' gradients), steps the factors and
/// writes the merged W back, which replaces the optimizer's step on W (that step is wasted work, not an effect); the loop
/// then zeroes the pruned entries, so the pruned model is mask ⊙ (W_r + U_p diag(σ_p) V_pᵀ). Biases and other vectors are
/// left to the model's optimizer. Strength 0 still trains the factors, without the penalty. The paper trains with AdamW and
/// applies the penalty's gradient at its own rate; here the penalty is part of the factors' objective, stepped by their Adam.
/// </para>
/// </summary>
public sealed class SorsaFineTuning : GradientRegularizer
{
    private readonly FactorizedFineTuning training;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="rank">r, the rank of the trained principal part (at most min(m, n) per layer).</param>
    /// <param name="learningRate">The learning rate of the factors' Adam.</param>
    /// <exception cref="ArgumentOutOfRangeException">The rank is below 1, or the learning rate is not a positive finite number.</exception>
    public SorsaFineTuning(int rank = 4, double learningRate = 1e-3)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be at least 1, got {rank}");
        if (!(learningRate > 0 && double.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"lr must be a positive number, got {learningRate}");
        Rank = rank;
        training = new FactorizedFineTuning(new Factorization(rank), learningRate, "sorsa");
    }

    /// <summary>r, the rank of the principal part (min(r, m, n) per layer).</summary>
    public int Rank { get; }

    /// <summary>The learning rate of the factors' Adam.</summary>
    public double LearningRate => training.LearningRate;

    /// <inheritdoc />
    public override string Name => "sorsa";

    /// <summary>Weight matrices and kernels.</summary>
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <summary>Records the pretrained weight on first sight; the factors move in <see cref="Project"/>.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength) => training.Remember(weight);

    /// <summary>Steps the factors on the gradient of W and writes W = W_r + U_p diag(σ_p) V_pᵀ.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize) => training.Step(weight, grad, strength);

    /// <summary>γ·(‖U_pᵀU_p − I‖² + ‖V_pᵀV_p − I‖²) of the current factors (0 before the first step); constant in W.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => training.Penalty(weight, strength);

    /// <summary>Copies of U_p, σ_p and V_p of <paramref name="parameter"/> (as a matrix), or null before its first step.</summary>
    public (Tensor U, Tensor S, Tensor V)? Factors(Tensor parameter)
    {
        if (training.Factors(parameter) is not { } theta) return null;
        var (rows, cols) = (parameter.shape[0], parameter.numel() / parameter.shape[0]);
        var (u, s, v) = Factorization.Split(theta, rows, cols);
        return (u.clone(), s.clone(), v.clone());
    }

    /// <summary>A copy of the frozen residual W_r of <paramref name="parameter"/> (as a matrix), or null before its first step.</summary>
    public Tensor? Residual(Tensor parameter) => training.Frozen(parameter);

    /// <summary>The residuals, factors, their Adam moments and step counts, by parameter name.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        training.SaveState(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        training.LoadState(parameters, state);

    internal FactorizedFineTuning Training => training;

    // θ = [vec(U_p), σ_p, vec(V_p)], frozen = W_r.
    private sealed class Factorization(int rank) : IWeightFactorization
    {
        public long FactorCount(long rows, long cols)
        {
            var r = Math.Min(rank, Math.Min(rows, cols));
            return r * (rows + cols + 1);
        }

        public (Tensor Frozen, Tensor Factors) Initialize(Tensor matrix)
        {
            var (u, s, vh) = linalg.svd(matrix, fullMatrices: false);
            var r = Math.Min(rank, s.shape[0]);
            var up = u.narrow(1, 0, r);
            var sp = s.narrow(0, 0, r);
            var vp = vh.narrow(0, 0, r).t();
            var principal = Principal(up, sp, vp);
            return (matrix.sub(principal), cat([up.flatten(), sp, vp.flatten()]));
        }

        public Tensor Merge(Tensor frozen, Tensor factors)
        {
            var (u, s, v) = Split(factors, frozen.shape[0], frozen.shape[1]);
            return frozen.add(Principal(u, s, v));
        }

        public Tensor Orthogonality(Tensor factors, long rows, long cols)
        {
            var (u, _, v) = Split(factors, rows, cols);
            return GramDeviation(u).add(GramDeviation(v));
        }

        public static (Tensor U, Tensor S, Tensor V) Split(Tensor factors, long rows, long cols)
        {
            var r = factors.shape[0] / (rows + cols + 1);
            return (factors.narrow(0, 0, rows * r).reshape(rows, r), factors.narrow(0, rows * r, r),
                factors.narrow(0, rows * r + r, cols * r).reshape(cols, r));
        }

        private static Tensor Principal(Tensor u, Tensor s, Tensor v) => u.mul(s).matmul(v.t());

        // ‖XᵀX − I‖²_F.
        private static Tensor GramDeviation(Tensor x) =>
            x.t().matmul(x).sub(eye(x.shape[1], dtype: x.dtype, device: x.device)).square().sum();
    }
}
