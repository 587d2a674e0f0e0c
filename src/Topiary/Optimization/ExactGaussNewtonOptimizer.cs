using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// Exact Gauss–Newton (EGN) of Korbit, Adeoye, Bemporad and Zanon, "Exact Gauss-Newton Optimization for Training Deep
/// Neural Networks" (arXiv 2405.14402, 2024; Neurocomputing 2025; seed paper #87): the Levenberg–Marquardt step on the
/// generalized Gauss–Newton model of the batch loss, d = −(JᵀQJ/b + λI)⁻¹Jᵀg/b = −Jᵀ(QJJᵀ + bλI)⁻¹g, where J is the
/// Jacobian of the b examples' outputs, g = ∂ℓ/∂z and Q = ∂²ℓ/∂z² per example (for cross-entropy on logits
/// Q_i = diag(p_i) − p_ip_iᵀ); the Duncan–Guttman identity makes the solve bK × bK (K outputs per example), whatever the
/// number of parameters. Then bias-corrected momentum m ← βm + (1 − β)d, step m/(1 − βᵗ); an Armijo backtracking line
/// search for α ≤ η (the learning rate); and λ adapted from the ratio ρ of actual to predicted decrease.
/// </summary>
/// <remarks>
/// The step needs the batch (<see cref="ICurvatureOptimizer.UseBatch"/>). J is built from the first
/// <see cref="CurvatureExamples"/> examples of it, with one backward pass per example and output (b·K passes; memory
/// b·K·P numbers), and H by K double-backward passes through the loss. The gradient the step preconditions is the one
/// the training step left in the parameters (the whole batch's, with any regularizer's terms):
/// −(λI + JᵀHJ)⁻¹v (<see cref="GaussNewtonSystem.Direction"/>), which is the paper's step when v is the curvature
/// batch's data gradient. Pruned entries are left out of J and of v, so they get no step. The line search and ρ read
/// the data loss of the curvature examples (extra forward passes, which also update any batch-norm statistics).
/// Line search (Vaswani et al., as the authors use): α starts at min(1.5·α_prev, η) and shrinks by 0.8 until
/// L(w + αd) ≤ L(w) + 0.1·α·∇Lᵀd, at most 15 times. λ: ×1.01 when ρ &lt; 0.25, ×0.99 when ρ &gt; 0.75 (the authors'
/// code's factors), kept in [1e-8, 1e8].
/// </remarks>
public sealed class ExactGaussNewtonOptimizer : MomentumOptimizer, ICurvatureOptimizer
{
    private const double ArmijoCoefficient = 0.1;
    private const double Backtracking = 0.8;
    private const double StepGrowth = 1.5;
    private const int MaxTrials = 15;
    private const double RegularizationIncrease = 1.01;
    private const double RegularizationDecrease = 0.99;
    private const double MinRegularization = 1e-8;
    private const double MaxRegularization = 1e8;
    private const string ScalarsName = "egn.scalars";

    private CurvatureBatch? batch;
    private double? previousStepSize;

    /// <summary>Creates EGN.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="learningRate">η: the step size, or with <paramref name="lineSearch"/> the largest one (the paper's α₀; 1 is the full Gauss–Newton step).</param>
    /// <param name="momentum">β in [0, 1).</param>
    /// <param name="regularization">λ₀ &gt; 0.</param>
    /// <param name="curvatureExamples">b ≥ 1: how many of the batch's examples J and H are built from.</param>
    /// <param name="lineSearch">Whether α is found by backtracking.</param>
    /// <param name="adaptiveRegularization">Whether λ follows ρ.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the exception names it.</exception>
    public ExactGaussNewtonOptimizer(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0.9, double regularization = 1.0,
        int curvatureExamples = 16, bool lineSearch = true, bool adaptiveRegularization = true) : base(parameters, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1)");
        if (!(regularization > 0 && double.IsFinite(regularization)))
            throw new ArgumentOutOfRangeException(nameof(regularization), regularization, "the regularization λ must be a positive finite number");
        if (curvatureExamples < 1) throw new ArgumentOutOfRangeException(nameof(curvatureExamples), curvatureExamples, "the curvature batch must hold at least one example");
        Momentum = momentum;
        Regularization = regularization;
        CurvatureExamples = curvatureExamples;
        LineSearch = lineSearch;
        AdaptiveRegularization = adaptiveRegularization;
    }

    /// <summary>β.</summary>
    public double Momentum { get; }

    /// <summary>λ for the next step.</summary>
    public double Regularization { get; private set; }

    /// <summary>b.</summary>
    public int CurvatureExamples { get; }

    /// <summary>Whether α is found by backtracking.</summary>
    public bool LineSearch { get; }

    /// <summary>Whether λ follows ρ.</summary>
    public bool AdaptiveRegularization { get; }

    /// <summary>α of the last step (0 before the first).</summary>
    public double StepSize => previousStepSize ?? 0;

    /// <inheritdoc />
    public void UseBatch(CurvatureBatch batch) => this.batch = batch;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No batch was given since the last step.</exception>
    public override void Step()
    {
        var current = batch ?? throw new InvalidOperationException(
            $"{nameof(ExactGaussNewtonOptimizer)} needs the batch before each step: let the session run Backward(inputs, targets, loss), or call {nameof(UseBatch)}");
        batch = null;
        StepCount++;
        using var scope = NewDisposeScope();
        var system = GaussNewtonSystem.Of(current, Parameters, CurvatureExamples);
        using var noGrad = no_grad();
        var masks = Parameters.Select(p => current.MaskOf(p)).ToList();
        var gradient = cat(Enumerable.Range(0, Parameters.Count).Select(i => Masked(Parameters[i].grad ?? zeros_like(Parameters[i]), masks[i]).reshape(-1)).ToList());
        var direction = Split(system.Direction(gradient, Regularization));
        for (var i = 0; i < Parameters.Count; i++) direction[i] = Masked(WithMomentum(i, direction[i]), masks[i]);
        var flat = cat(direction.Select(d => d.reshape(-1)).ToList());
        var (slope, _) = system.Model(flat);
        var origin = Parameters.Select(p => p.detach().clone()).ToList();
        var alpha = LineSearch ? Math.Min(StepGrowth * (previousStepSize ?? LearningRate), LearningRate) : LearningRate;
        double? loss = null;
        for (var trial = 1; ; trial++)
        {
            MoveTo(origin, direction, alpha);
            if (!LineSearch) break;
            loss = system.LossAtCurrentWeights();
            if (loss <= system.Loss + ArmijoCoefficient * alpha * slope || trial == MaxTrials) break;
            alpha *= Backtracking;
        }
        previousStepSize = alpha;
        if (AdaptiveRegularization) Adapt(system, flat, alpha, loss ?? system.LossAtCurrentWeights());
    }

    // ρ = actual / predicted decrease of the step αd; a step that the model does not predict to descend counts as ρ = 0.
    private void Adapt(GaussNewtonSystem system, Tensor direction, double alpha, double loss)
    {
        using var step = direction.mul(HeldScalar.Of(alpha));
        var (_, predicted) = system.Model(step);
        var rho = predicted < 0 ? (loss - system.Loss) / predicted : 0;
        var factor = rho < 0.25 ? RegularizationIncrease : rho > 0.75 ? RegularizationDecrease : 1;
        Regularization = Math.Clamp(Regularization * factor, MinRegularization, MaxRegularization);
    }

    // m ← βm + (1 − β)d, returned bias-corrected: m/(1 − βᵗ).
    private Tensor WithMomentum(int index, Tensor direction)
    {
        if (Momentum == 0) return direction;
        var buffer = ZeroStartedBuffer(index, direction);
        buffer.mul_(HeldScalar.Of(Momentum)).add_(direction, alpha: HeldScalar.Of(1 - Momentum));
        return buffer.div(HeldScalar.Of(1 - Math.Pow(Momentum, StepCount)));
    }

    private void MoveTo(IReadOnlyList<Tensor> origin, IReadOnlyList<Tensor> direction, double alpha)
    {
        for (var i = 0; i < Parameters.Count; i++)
            Parameters[i].copy_(origin[i]).add_(direction[i], alpha: HeldScalar.Of(alpha));
    }

    private List<Tensor> Split(Tensor flat)
    {
        var pieces = new List<Tensor>(Parameters.Count);
        long offset = 0;
        foreach (var p in Parameters)
        {
            pieces.Add(flat.narrow(0, offset, p.numel()).view(p.shape));
            offset += p.numel();
        }
        return pieces;
    }

    private static Tensor Masked(Tensor tensor, Tensor? mask) => mask is null ? tensor : tensor.mul(mask);

    /// <inheritdoc />
    protected override string StateName => "EGN";

    /// <inheritdoc />
    /// <remarks>Besides the momentum buffers, <c>egn.scalars</c> = [λ, α of the last step (0 before the first)].</remarks>
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var state = new Dictionary<string, Tensor>(base.StateBuffers());
        scalars?.Dispose();
        scalars = tensor(new[] { Regularization, StepSize }, dtype: float64).DetachFromDisposeScope();
        state[ScalarsName] = scalars;
        return state;
    }

    private Tensor? scalars;

    /// <inheritdoc />
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> buffers)
    {
        if (!buffers.TryGetValue(ScalarsName, out var saved) || saved.numel() != 2)
            throw new ArgumentException($"optimizer state '{ScalarsName}' [λ, α] is missing or malformed for {StateName}");
        var values = saved.to(float64).data<double>().ToArray();
        base.LoadStateBuffers(buffers.Where(b => b.Key != ScalarsName).ToDictionary(b => b.Key, b => b.Value));
        Regularization = values[0];
        previousStepSize = values[1] > 0 ? values[1] : null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        scalars?.Dispose();
        base.Dispose();
    }
}
