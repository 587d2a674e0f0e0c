using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The manifold Lipschitz regularizer of Cerviño, Chamon, Haeffele, Vidal, Ribeiro, "Learning Globally Smooth Functions on
/// Manifolds" (ICML 2023, seed paper #27). The paper learns a function that is Lipschitz on the data manifold M as the
/// constrained problem min_{θ,ρ} ρ s.t. E[ℓ(f_θ(x), y)] ≤ ε and ‖∇_M f_θ(x)‖² ≤ ρ for every x ∈ M, whose Lagrangian
/// ρ + μ(E ℓ − ε) + E[λ(x)(‖∇_M f_θ(x)‖² − ρ)] is, in θ, the loss plus a manifold (point-cloud Laplacian) penalty weighted
/// per sample by the dual variables λ(x), which stochastic dual ascent raises where the constraint is violated; ρ, descended
/// along 1 − Σλ, converges to the squared Lipschitz constant of the solution. Here, per batch of B examples with inputs
/// x_i, outputs f_i (the softmax of the logits with <see cref="Softmax"/>, as in the authors' code) and N(i) the
/// <see cref="Neighbours"/> nearest other inputs of the batch:
/// <list type="bullet">
/// <item>the penalty R = γ·(1/B)Σ_i λ_i·(1/k)Σ_{j∈N(i)} w_ij‖f_i − f_j‖², w_ij = 1/‖x_i − x_j‖² (the graph Laplacian
/// penalty on the batch's kNN graph, each term a squared finite-difference slope; the strength γ plays 1/μ);</item>
/// <item>after it is evaluated, with g_i = max_{j∈N(i)} w_ij‖f_i − f_j‖² (example i's squared local Lipschitz ratio):
/// λ_i ← [λ_i + η(g_i/ρ − 1)]₊ and ρ ← ρ·exp(−η(1 − mean_batch λ)); <see cref="LipschitzConstant"/> = √ρ. With f held
/// fixed the pair (ρ, λ) circles its saddle point, where ρ is the largest g_i, rather than settling (as primal–dual
/// iterations on a linear Lagrangian do), so √ρ estimates the constant on average over steps, not at every step.</item>
/// </list>
/// <para>
/// Adapted (the paper's text beyond its abstract could not be read here; the constraint form and both updates follow the
/// authors' code, JuanCervino/smoothbench and smooth_energy, which compute g_i as the largest squared ratio and step
/// λ ← [λ + η(g − ρ)]₊, ρ ← [ρ − η_ρ(1 − Σλ)]₊): the graph is the batch's, not the whole data set's; the edge weights are
/// 1/‖x_i − x_j‖² instead of a heat kernel, so that the penalty is the mean of the very slopes whose maximum the
/// constraint bounds and needs no length scale of the inputs (pairs of equal inputs get weight 0); the duals are kept per
/// training example, found again in later batches by a fingerprint of the input's bits (<see cref="DualsOf"/>; an unseen
/// example starts at λ = 1, so an augmented view is a new example), with mean 1 in place of the authors' sum 1 over the
/// data set; the violation is measured relative to ρ and ρ steps in the log domain, so that one step size η suits any
/// scale of inputs and outputs; ρ starts at the median g_i of the first batch. The loss constraint's multiplier μ is not
/// learned: the strength fixes the trade-off. Duals and ρ change at every evaluation of the penalty (once per plain step,
/// once per pass under a regularizer that runs several, such as SAM); a batch needs two examples.
/// </para>
/// </summary>
public sealed class ManifoldLipschitzRegularizer : GradientRegularizer
{
    /// <summary>The dual variable of an example not seen before.</summary>
    public const double InitialDual = 1;

    // Keeps the slopes finite for inputs that are equal up to rounding; such pairs are masked out anyway.
    private const double Tiny = 1e-30;

    private readonly Dictionary<ulong, double> duals = new();
    private double? bound;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="neighbours">k, the neighbours of each example in the batch's graph.</param>
    /// <param name="stepSize">η, the dual ascent's step (relative to ρ) and that of log ρ.</param>
    /// <param name="softmax">Whether f is the softmax of the model's outputs (a classifier's probabilities) or the outputs themselves.</param>
    /// <exception cref="ArgumentOutOfRangeException">k &lt; 1, or η is not a positive number.</exception>
    public ManifoldLipschitzRegularizer(int neighbours = 5, double stepSize = 0.1, bool softmax = true)
    {
        if (neighbours < 1) throw new ArgumentOutOfRangeException(nameof(neighbours), neighbours, $"the number of neighbours must be at least 1, got {neighbours}");
        if (!(stepSize > 0 && double.IsFinite(stepSize))) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"the step size must be a number > 0, got {stepSize}");
        Neighbours = neighbours;
        StepSize = stepSize;
        Softmax = softmax;
    }

    /// <summary>k, the neighbours of each example (fewer when the batch is smaller than k + 1).</summary>
    public int Neighbours { get; }

    /// <summary>η.</summary>
    public double StepSize { get; }

    /// <summary>Whether f is the softmax of the outputs.</summary>
    public bool Softmax { get; }

    /// <summary>ρ, the current bound on the squared local Lipschitz ratios; null before the first evaluation.</summary>
    public double? SquaredBound => bound;

    /// <summary>√ρ, the estimate of the Lipschitz constant of f on the data; null before the first evaluation.</summary>
    public double? LipschitzConstant => bound is { } rho ? Math.Sqrt(rho) : null;

    /// <summary>The number of distinct examples that have a dual variable.</summary>
    public int Examples => duals.Count;

    /// <inheritdoc />
    public override string Name => "mlip";

    /// <summary>The current dual variable of each example (row) of <paramref name="inputs"/>; <see cref="InitialDual"/> for one not seen.</summary>
    public double[] DualsOf(Tensor inputs) => ExampleFingerprint.Of(inputs).Select(Dual).ToArray();

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var count = context.Inputs.shape[0];
        if (count < 2) return null;
        using var scope = NewDisposeScope();
        var f = Function(context.Outputs);
        var (indices, squaredDistances) = InputNeighbours.Of(context.Inputs, (int)Math.Min(Neighbours, count - 1), f.dtype);
        var weights = Weights(squaredDistances);
        var keys = ExampleFingerprint.Of(context.Inputs);
        var current = keys.Select(Dual).ToArray();
        var penalty = Laplacian(f, indices, weights, tensor(current, dtype: f.dtype, device: f.device)).mul(HeldScalar.Of(strength));
        double[] slopes;
        using (no_grad()) slopes = SquaredSlopes(f.detach(), indices, weights).to(float64).cpu().data<double>().ToArray();
        Ascend(keys, current, slopes);
        return penalty.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (1/B)Σ_i λ_i·(1/k)Σ_{j∈N(i)} ‖f_i − f_j‖²/‖x_i − x_j‖² for outputs f (B, …), inputs x (B, …) and duals λ (B), on the
    /// graph of each input's <paramref name="neighbours"/> nearest others; differentiable in f and λ.
    /// </summary>
    public static Tensor Laplacian(Tensor outputs, Tensor inputs, Tensor duals, int neighbours)
    {
        var f = outputs.reshape(outputs.shape[0], -1);
        var (indices, squaredDistances) = InputNeighbours.Of(inputs, neighbours, f.dtype);
        return Laplacian(f, indices, Weights(squaredDistances), duals);
    }

    /// <summary>g_i = max_{j∈N(i)} ‖f_i − f_j‖²/‖x_i − x_j‖², each example's squared local Lipschitz ratio (B), without gradient.</summary>
    public static Tensor SquaredSlopes(Tensor outputs, Tensor inputs, int neighbours)
    {
        using var _ = no_grad();
        var f = outputs.detach().reshape(outputs.shape[0], -1);
        var (indices, squaredDistances) = InputNeighbours.Of(inputs, neighbours, f.dtype);
        return SquaredSlopes(f, indices, Weights(squaredDistances));
    }

    /// <summary>The dual ascent step [λ_i + η(g_i/ρ − 1)]₊ of each example, g_i its squared slope and ρ &gt; 0 the bound.</summary>
    /// <exception cref="ArgumentException">The lists differ in length, or ρ is not positive.</exception>
    public static double[] DualStep(IReadOnlyList<double> duals, IReadOnlyList<double> squaredSlopes, double squaredBound, double stepSize)
    {
        if (duals.Count != squaredSlopes.Count) throw new ArgumentException($"{duals.Count} duals for {squaredSlopes.Count} slopes", nameof(squaredSlopes));
        if (!(squaredBound > 0)) throw new ArgumentException($"the bound ρ must be > 0, got {squaredBound}", nameof(squaredBound));
        return duals.Select((lambda, i) => Math.Max(0, lambda + stepSize * (squaredSlopes[i] / squaredBound - 1))).ToArray();
    }

    /// <summary>The descent step ρ·exp(−η(1 − mean λ)) of the bound: it grows while the duals average more than 1.</summary>
    public static double BoundStep(double squaredBound, double meanDual, double stepSize) => squaredBound * Math.Exp(-stepSize * (1 - meanDual));

    /// <summary>Acts on the outputs, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        if (bound is { } rho) state["rho"] = tensor(new[] { rho }, dtype: float64);
        if (duals.Count == 0) return state;
        state["examples"] = tensor(duals.Keys.Select(k => unchecked((long)k)).ToArray(), dtype: int64);
        state["duals"] = tensor(duals.Values.ToArray(), dtype: float64);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Keys.FirstOrDefault(k => k is not ("rho" or "examples" or "duals")) is { } unknown)
            throw new ArgumentException($"the checkpoint holds state '{unknown}', which the manifold Lipschitz regularizer does not keep");
        var examples = state.GetValueOrDefault("examples");
        var values = state.GetValueOrDefault("duals");
        if ((examples is null) != (values is null) || (examples is not null && (examples.dim() != 1 || values!.dim() != 1 || examples.shape[0] != values.shape[0])))
            throw new ArgumentException("the manifold Lipschitz regularizer's checkpoint needs examples and duals of one equal length");
        if (state.GetValueOrDefault("rho") is { } rho && rho.numel() != 1)
            throw new ArgumentException($"the manifold Lipschitz regularizer's checkpoint bound has shape [{string.Join(",", rho.shape)}], not [1]");
        duals.Clear();
        bound = state.GetValueOrDefault("rho")?.to(float64).cpu().item<double>();
        if (examples is null) return;
        var keys = examples.to(int64).cpu().data<long>().ToArray();
        var numbers = values!.to(float64).cpu().data<double>().ToArray();
        for (var i = 0; i < keys.Length; i++) duals[unchecked((ulong)keys[i])] = numbers[i];
    }

    private double Dual(ulong key) => duals.GetValueOrDefault(key, InitialDual);

    private Tensor Function(Tensor outputs)
    {
        var f = outputs.reshape(outputs.shape[0], -1);
        return Softmax ? f.softmax(1) : f;
    }

    // One stochastic dual step on the batch's examples, then one on the bound; the bound starts at the median slope.
    private void Ascend(ulong[] keys, double[] current, double[] slopes)
    {
        if (bound is not ({ } b and > 0) || !double.IsFinite(b))
        {
            var median = slopes.Order().ElementAt(slopes.Length / 2);
            if (!(median > 0)) median = slopes.Max();
            if (!(median > 0 && double.IsFinite(median))) return;
            bound = median;
        }
        var next = DualStep(current, slopes, bound.Value, StepSize);
        for (var i = 0; i < keys.Length; i++) duals[keys[i]] = next[i];
        bound = BoundStep(bound.Value, next.Average(), StepSize);
    }

    private static Tensor Laplacian(Tensor f, Tensor indices, Tensor weights, Tensor duals)
    {
        if (duals.dim() != 1 || duals.shape[0] != f.shape[0])
            throw new ArgumentException($"one dual per example: {f.shape[0]} examples, duals of shape [{string.Join(",", duals.shape)}]", nameof(duals));
        return SquaredDifferences(f, indices).mul(weights).mean([1]).mul(duals.to(f.dtype)).mean();
    }

    private static Tensor SquaredSlopes(Tensor f, Tensor indices, Tensor weights) =>
        SquaredDifferences(f, indices).mul(weights).max(1).values;

    // ‖f_i − f_j‖² for each example i and each of its neighbours j: (B, k).
    private static Tensor SquaredDifferences(Tensor f, Tensor indices)
    {
        var neighbours = f.index_select(0, indices.flatten()).view(indices.shape[0], indices.shape[1], -1);
        return f.unsqueeze(1).sub(neighbours).square().sum(new long[] { 2 });
    }

    // w_ij = 1/‖x_i − x_j‖², 0 for equal inputs.
    private static Tensor Weights(Tensor squaredDistances) =>
        squaredDistances.clamp_min(HeldScalar.Of(Tiny)).reciprocal().masked_fill(squaredDistances.le(HeldScalar.Of(0.0)), HeldScalar.Of(0.0));
}
