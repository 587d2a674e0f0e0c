using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Fira (Chen, Feng, Li, Lai, Yue, Yuan, Wang, "Fira: Can We Achieve Full-rank Training of LLMs Under Low-rank
/// Constraint?", arXiv 2024, NeurIPS 2025, seed paper #82): Adam whose moments live in a rank-r subspace, as GaLore's,
/// plus the gradient outside that subspace, scaled like Adam's step, so that every direction trains. For a matrix
/// gradient G (m ≤ n; a taller one is transposed, a kernel seen as out × in·k·k):
/// P = the top-r left singular vectors of G, recomputed every T steps; R = PᵀG (r × n);
/// ψ(R) = m̂/(√v̂ + ε), Adam on R; φ_j = ‖ψ(R)_{:,j}‖/(‖R_{:,j}‖ + 1e-8) per column (the paper's column-wise
/// norm-based scaling); S = (G − PR)·diag(φ), limited by <see cref="NormGrowthLimiter"/> (‖S_t‖ ≤ γ‖S_{t−1}‖);
/// W ← W − η·(P·ψ(R) + S). Adam's moments take 2·r·n numbers per matrix and P m·r, instead of 2·m·n.
/// Vectors (biases) get plain Adam. The moments keep their coordinates when P is recomputed, as in the paper.
/// Adapted from the authors' code: ψ carries Adam's bias correction (their code applies it to the whole step, residual
/// included, which is the same up to where ε enters), and their GaLore scale α on P·ψ (0.25 in their scripts) is 1.
/// The subspace moments have no entry per weight, so <see cref="MaskState"/> restarts a matrix's state (subspace,
/// moments, its own step count for the bias correction, limiter) instead of masking it; pruned weights stay zero
/// through the masks on gradients and weights, as with Muon.
/// </summary>
public sealed class FiraOptimizer : MaskableOptimizer
{
    /// <summary>r when none is given.</summary>
    public const int DefaultRank = 32;

    /// <summary>T when none is given (the paper's 200).</summary>
    public const int DefaultUpdateInterval = 200;

    // Keeps φ finite on a zero column of R, whose residual column is then zero as well.
    private const double ScalingGuard = 1e-8;

    private readonly ParameterState?[] states;

    /// <summary>
    /// Creates Fira with rank <paramref name="rank"/> = r, subspace update interval <paramref name="updateInterval"/> = T,
    /// growth limit <paramref name="growthLimit"/> = γ (null: no limiter) and Adam's β1, β2, ε.
    /// </summary>
    public FiraOptimizer(IEnumerable<Parameter> parameters, double learningRate = 1e-3, int rank = DefaultRank, int updateInterval = DefaultUpdateInterval,
        double? growthLimit = NormGrowthLimiter.PaperGrowth, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) : base(parameters, learningRate)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "the rank r must be ≥ 1");
        if (updateInterval < 1) throw new ArgumentOutOfRangeException(nameof(updateInterval), updateInterval, "the update interval T must be ≥ 1");
        if (growthLimit is { } g && !(g >= 1 && double.IsFinite(g)))
            throw new ArgumentOutOfRangeException(nameof(growthLimit), g, "the growth limit γ must be a finite number ≥ 1");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β1 must lie in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β2 must lie in [0, 1)");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be > 0");
        Rank = rank;
        UpdateInterval = updateInterval;
        GrowthLimit = growthLimit;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        states = new ParameterState?[Parameters.Count];
    }

    /// <summary>r (a matrix with fewer rows and columns uses all of them).</summary>
    public int Rank { get; }
    /// <summary>T, the steps between recomputations of P.</summary>
    public int UpdateInterval { get; }
    /// <summary>γ of the norm-growth limiter, or null without one.</summary>
    public double? GrowthLimit { get; }
    /// <summary>β1.</summary>
    public double Beta1 { get; }
    /// <summary>β2.</summary>
    public double Beta2 { get; }
    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            var update = Parameters[i].dim() < 2 ? AdamStep(State(i), grad) : MatrixStep(i, grad);
            Parameters[i].sub_(update.mul_(HeldScalar.Of(LearningRate)));
        }
    }

    private Tensor MatrixStep(int i, Tensor grad)
    {
        var (g, transposed) = Oriented(grad);
        var state = State(i);
        if (state.Steps % UpdateInterval == 0) state.Project(g);
        var projection = state.Projection!;
        var low = projection.t().matmul(g);
        var adam = AdamStep(state, low);
        var scaling = adam.norm(0).div_(low.norm(0).add_(HeldScalar.Of(ScalingGuard)));
        var residual = g.sub(projection.matmul(low)).mul_(scaling);
        state.Limiter?.Limit(residual);
        var update = projection.matmul(adam).add_(residual);
        return (transposed ? update.t() : update).reshape(grad.shape);
    }

    // ψ(x) = m̂/(√v̂ + ε) with the moments of state, in the operation order of AdamOptimizer.
    private Tensor AdamStep(ParameterState state, Tensor x)
    {
        state.Steps++;
        var biasCorrection1 = 1 - Math.Pow(Beta1, state.Steps);
        var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, state.Steps));
        state.FirstMoment.mul_(HeldScalar.Of(Beta1)).add_(x, alpha: HeldScalar.Of(1 - Beta1));
        state.SecondMoment.mul_(HeldScalar.Of(Beta2)).addcmul_(x, x, value: HeldScalar.Of(1 - Beta2));
        var denominator = state.SecondMoment.sqrt().div_(HeldScalar.Of(biasCorrection2Sqrt)).add_(HeldScalar.Of(Epsilon));
        return state.FirstMoment.div(denominator).div_(HeldScalar.Of(biasCorrection1));
    }

    /// <summary>The gradient as an m × n matrix with m ≤ n, and whether that is its transpose.</summary>
    private static (Tensor Matrix, bool Transposed) Oriented(Tensor grad)
    {
        var matrix = grad.reshape(grad.shape[0], -1);
        return matrix.shape[0] > matrix.shape[1] ? (matrix.t(), true) : (matrix, false);
    }

    /// <summary>(m, n, r) of parameter <paramref name="index"/>, a matrix: its oriented shape and the rank used.</summary>
    private (long Rows, long Columns, long Rank) MatrixShape(int index)
    {
        var shape = Parameters[index].shape;
        var (rows, columns) = (shape[0], shape.Skip(1).Aggregate(1L, (a, b) => a * b));
        var (small, large) = (Math.Min(rows, columns), Math.Max(rows, columns));
        return (small, large, Math.Min(Rank, small));
    }

    /// <summary>The shape of parameter <paramref name="index"/>'s moments: its own, or r × n for a matrix.</summary>
    private long[] MomentShape(int index)
    {
        if (Parameters[index].dim() < 2) return Parameters[index].shape;
        var (_, columns, rank) = MatrixShape(index);
        return [rank, columns];
    }

    private ParameterState State(int index) => states[index] ??= NewState(index);

    private ParameterState NewState(int index)
    {
        var isMatrix = Parameters[index].dim() >= 2;
        var limiter = isMatrix && GrowthLimit is { } growth ? new NormGrowthLimiter(growth) : null;
        return new ParameterState(MomentShape(index), Parameters[index].dtype, Parameters[index].device, limiter);
    }

    /// <summary>Masks a vector's moments; restarts a matrix's state (subspace, moments, limiter), which has no entry per weight.</summary>
    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        var i = IndexOf(parameter);
        if (states[i] is not { } state) return;
        if (parameter.dim() < 2)
        {
            state.FirstMoment.mul_(mask);
            state.SecondMoment.mul_(mask);
            return;
        }
        state.Dispose();
        states[i] = null;
    }

    /// <summary>
    /// <c>{i}.exp_avg</c>, <c>{i}.exp_avg_sq</c> and <c>{i}.step</c> per stepped parameter; a matrix adds
    /// <c>{i}.projection</c> (P, m × r) and, once the limiter has seen an update, <c>{i}.residual_norm</c> (‖S_{t−1}‖).
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var buffers = new Dictionary<string, Tensor>();
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i] is not { } state) continue;
            buffers[$"{i}.exp_avg"] = state.FirstMoment;
            buffers[$"{i}.exp_avg_sq"] = state.SecondMoment;
            buffers[$"{i}.step"] = tensor(state.Steps, int64);
            if (state.Projection is { } projection) buffers[$"{i}.projection"] = projection;
            if (state.Limiter?.PreviousNorm is { } norm) buffers[$"{i}.residual_norm"] = tensor(norm, float64);
        }
        return buffers;
    }

    /// <inheritdoc />
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> buffers)
    {
        var known = new[] { "exp_avg", "exp_avg_sq", "step", "projection", "residual_norm" };
        if (buffers.Keys.FirstOrDefault(k => k.Split('.', 2) is not [var index, var name] || !int.TryParse(index, out var i)
                || i < 0 || i >= Parameters.Count || !known.Contains(name) || (name is "projection" or "residual_norm" && Parameters[i].dim() < 2)) is { } unknown)
            throw new ArgumentException($"unknown optimizer state '{unknown}' for Fira");
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            states[i]?.Dispose();
            states[i] = buffers.ContainsKey($"{i}.exp_avg") ? LoadedState(i, buffers) : null;
        }
    }

    private ParameterState LoadedState(int i, IReadOnlyDictionary<string, Tensor> buffers)
    {
        Tensor Saved(string name, long[] shape)
        {
            if (!buffers.TryGetValue($"{i}.{name}", out var source)) throw new ArgumentException($"optimizer state '{i}.{name}' is missing");
            if (!source.shape.SequenceEqual(shape))
                throw new ArgumentException($"optimizer state '{i}.{name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", shape)}]");
            return source;
        }
        var state = NewState(i);
        state.FirstMoment.copy_(Saved("exp_avg", MomentShape(i)));
        state.SecondMoment.copy_(Saved("exp_avg_sq", MomentShape(i)));
        state.Steps = Saved("step", []).ToInt64();
        if (Parameters[i].dim() < 2) return state;
        var (m, _, r) = MatrixShape(i);
        state.Projection = Saved("projection", [m, r]).to(Parameters[i].dtype, Parameters[i].device).clone().DetachFromDisposeScope();
        if (state.Limiter is { } limiter && buffers.TryGetValue($"{i}.residual_norm", out var norm)) limiter.PreviousNorm = norm.ToDouble();
        return state;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var state in states) state?.Dispose();
    }

    /// <summary>One parameter's moments and step count; for a matrix also P and the limiter.</summary>
    private sealed class ParameterState(long[] momentShape, ScalarType dtype, Device device, NormGrowthLimiter? limiter) : IDisposable
    {
        public Tensor FirstMoment { get; } = zeros(momentShape, dtype, device).DetachFromDisposeScope();
        public Tensor SecondMoment { get; } = zeros(momentShape, dtype, device).DetachFromDisposeScope();
        public Tensor? Projection { get; set; }
        public long Steps { get; set; }
        public NormGrowthLimiter? Limiter { get; } = limiter;

        /// <summary>Sets P to the top-r left singular vectors of <paramref name="gradient"/> (m × n, m ≤ n).</summary>
        public void Project(Tensor gradient)
        {
            using var scope = NewDisposeScope();
            var (u, _, _) = linalg.svd(gradient, fullMatrices: false);
            Projection?.Dispose();
            Projection = u.narrow(1, 0, FirstMoment.shape[0]).contiguous().DetachFromDisposeScope();
        }

        public void Dispose()
        {
            FirstMoment.Dispose();
            SecondMoment.Dispose();
            Projection?.Dispose();
        }
    }
}
