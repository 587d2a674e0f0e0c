using Topiary.Backend;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// The implicit hypergradient of a regularization strength, shared by <see cref="HoagTuner"/> (Pedregosa, ICML 2016,
/// seed paper #46) and <see cref="InexactBilevelTuner"/> (Salehi, Mukherjee, Roberts, Ehrhardt, seed paper #34). For the
/// lower objective g(w, λ) = L_train(w) + λ·R(w), λ = m·λ_t, θ = log m, and the upper objective F(w) = L_val(w), the
/// implicit function theorem at a stationary point of g gives dw/dλ = −H⁻¹·∂R/∂w with H = ∇²_w g, so
/// <code>dF/dθ = λ·dF/dλ = −λ·(∂R/∂w)ᵀ·H⁻¹·∇_w F.</code>
/// It is taken at the current weights, which stand for the lower solution w*(λ) (an inexact one: that is the point of
/// both papers).
/// </summary>
/// <remarks>
/// <para>∂R/∂w is the regularizer's own <see cref="GradientRegularizer.AddGradient"/> at strength 1 minus the gradient it
/// was given, which is the training-loss gradient g at w (averaged over the batches used), because the flagship
/// relevance regularizer gates by exp(−|g|/α) with g held constant. Only the <see cref="TuningProblem.Regularized"/>
/// parameters that the regularizer <see cref="GradientRegularizer.AppliesTo"/> have a penalty gradient.</para>
/// <para>H·v = ∇²L_train·v + λ·∇²R·v (+ δ·v with <see cref="ImplicitHypergradientSettings.Damping"/>): the first term by
/// double backward (the gradient of ⟨∇L_train, v⟩), averaged over the training batches; the second by a central
/// difference of ∂R/∂w at w ± h·v with the gate's g held at its value at w, ‖h·v‖ = ∛ε_mach·(1 + ‖w‖) over the penalized
/// tensors, exact up to rounding for penalties quadratic in w (L2, relevance with the gate held). The regularizer's
/// state (a tracked α, a running average of |g|) is saved before and restored after every set of calls, so each call
/// sees the gate of the training step that would come next, and the weights are restored bit-exactly. What a regularizer
/// keeps outside its saved state is left as the last call set it (the relevance regularizer's minibatch signal, read by
/// its statistics and decoupled step, is then |g| of the averaged gradient until the next training step sets it).</para>
/// <para>Pruned entries (<see cref="TuningProblem.Masks"/>) are not variables: every vector is zero there, so H is
/// restricted to the unpruned entries. H·q = ∇F is solved by conjugate gradients to a relative residual, stopping at
/// the current iterate if H is not positive definite along a search direction (then q is the minimizer of the quadratic
/// model over the directions explored so far, and the estimate says so).</para>
/// <para>Regularizers that are not smooth penalties (<see cref="GradientRegularizer.IsSmoothPenalty"/> false: proximal
/// steps such as L1, projections, loss penalties, replaced backward passes, gradient transforms) have no ∂R/∂w here and
/// are refused.</para>
/// The object holds g, ∂R/∂w and ∇F at the weights it was built at; dispose it when done.
/// </remarks>
public sealed class ImplicitHypergradient : IDisposable
{
    private readonly TuningProblem problem;
    private readonly Tensor[] parameters;
    private readonly Tensor?[] masks;
    private readonly bool[] penalized;
    private readonly int batches;
    private readonly Tensor[] lossGradient;
    private readonly Tensor[] penaltyGradient;
    private readonly Tensor[] validationGradient;

    /// <summary>Takes g, ∂R/∂w, F and ∇F at the current weights, for λ = <paramref name="multiplier"/>·λ_t.</summary>
    /// <param name="problem">The bilevel problem.</param>
    /// <param name="multiplier">m &gt; 0, the current multiplier of the scheduled strength.</param>
    /// <param name="settings">Solve settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">The regularizer is not a smooth penalty, or a setting is out of range.</exception>
    public ImplicitHypergradient(TuningProblem problem, double multiplier, ImplicitHypergradientSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        EnsureSupported(problem.Regularizer);
        Settings = settings ?? new ImplicitHypergradientSettings();
        foreach (var (property, reason) in Settings.Problems()) throw new ArgumentOutOfRangeException(nameof(settings), $"{property} {reason}");
        if (!(multiplier > 0 && double.IsFinite(multiplier))) throw new ArgumentOutOfRangeException(nameof(multiplier), $"must be a finite number > 0, got {multiplier}");
        if (problem.TrainingBatches < 1 || problem.ValidationBatches < 1)
            throw new ArgumentException($"the problem needs at least one training and one validation batch, got {problem.TrainingBatches} and {problem.ValidationBatches}", nameof(problem));
        this.problem = problem;
        Strength = multiplier * problem.ScheduledStrength;
        parameters = problem.Parameters.Select(p => (Tensor)p).ToArray();
        masks = parameters.Select(p => problem.Masks?.MaskOf(p)).ToArray();
        var regularized = problem.Regularized.Select(p => p.Handle).ToHashSet();
        penalized = parameters.Select(p => regularized.Contains(p.Handle) && problem.Regularizer.AppliesTo(p)).ToArray();
        batches = Math.Min(Settings.HessianBatches ?? problem.TrainingBatches, problem.TrainingBatches);

        using var scope = NewDisposeScope();
        lossGradient = ParameterVectors.Owned(MeanGradient(problem.TrainingLoss, batches, parameters, masks).Gradient);
        penaltyGradient = ParameterVectors.Owned(PenaltyGradient());
        var (loss, gradient) = MeanGradient(problem.ValidationLoss, problem.ValidationBatches, parameters, masks);
        ValidationLoss = loss;
        validationGradient = ParameterVectors.Owned(gradient);
        ValidationGradientNorm = ParameterVectors.Norm(validationGradient);
    }

    /// <summary>Refuses a regularizer that is not a smooth penalty.</summary>
    /// <exception cref="ArgumentException"><see cref="GradientRegularizer.IsSmoothPenalty"/> is false; the message names the regularizer.</exception>
    public static void EnsureSupported(GradientRegularizer regularizer)
    {
        ArgumentNullException.ThrowIfNull(regularizer);
        if (!regularizer.IsSmoothPenalty)
            throw new ArgumentException($"regularizer '{regularizer.Name}' is not a smooth penalty applied through its gradient (it projects after the step, replaces or transforms the backward pass, or adds a loss penalty), so it has no implicit hypergradient: tune its strength by a sweep instead", nameof(regularizer));
    }

    /// <summary>The solve settings.</summary>
    public ImplicitHypergradientSettings Settings { get; }

    /// <summary>λ = m·λ_t, the strength H is taken at.</summary>
    public double Strength { get; }

    /// <summary>F(w), the validation loss at the weights this was built at (mean over the validation batches).</summary>
    public double ValidationLoss { get; }

    /// <summary>‖∇_w F‖ over the unpruned entries.</summary>
    public double ValidationGradientNorm { get; }

    /// <summary>Hessian-vector products used so far.</summary>
    public int HessianProducts { get; private set; }

    /// <summary>dF/dθ = −λ·(∂R/∂w)ᵀ·q with H·q = ∇F solved to relative residual <paramref name="tolerance"/>.</summary>
    /// <exception cref="OperationCanceledException">Cancelled between two Hessian-vector products.</exception>
    public HypergradientEstimate Estimate(double tolerance, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        return Estimate(tolerance, null, cancellationToken).Estimate;
    }

    /// <summary>As above from the warm start <paramref name="start"/>; also returns q (in the caller's dispose scope).</summary>
    internal (HypergradientEstimate Estimate, Tensor[] Solution) Estimate(double tolerance, IReadOnlyList<Tensor>? start, CancellationToken cancellationToken)
    {
        var solve = Solve(validationGradient, tolerance, start, cancellationToken);
        var gradient = -Strength * ParameterVectors.Dot(penaltyGradient, solve.Solution);
        return (new HypergradientEstimate(gradient, tolerance, solve.Products, solve.RelativeResidual, solve.Converged, solve.NegativeCurvature), solve.Solution);
    }

    /// <summary>dw/dλ = −H⁻¹·∂R/∂w, the first-order change of the lower solution per unit of λ (in the caller's dispose scope).</summary>
    internal ConjugateGradientResult BestResponseDirection(double tolerance, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var negative = ParameterVectors.Clone(penaltyGradient);
        ParameterVectors.Scale(negative, -1);
        var result = Solve(negative, tolerance, null, cancellationToken);
        ParameterVectors.ToOuterScope(result.Solution);
        return result;
    }

    /// <summary>The training-loss gradient g at w that the gate reads (mean over the batches used, masked).</summary>
    internal IReadOnlyList<Tensor> LossGradient => lossGradient;

    /// <summary>∂R/∂w at strength 1 (zero off the penalized tensors, masked).</summary>
    internal IReadOnlyList<Tensor> PenaltyGradientAtWeights => penaltyGradient;

    /// <summary>∇_w F (masked).</summary>
    internal IReadOnlyList<Tensor> ValidationGradient => validationGradient;

    /// <summary>H·v, masked (in the caller's dispose scope).</summary>
    internal Tensor[] HessianVectorProduct(IReadOnlyList<Tensor> v)
    {
        HessianProducts++;
        using var scope = NewDisposeScope();
        var result = LossHessianProduct(v);
        if (Strength != 0) ParameterVectors.AddScaled(result, PenaltyHessianProduct(v), Strength);
        if (Settings.Damping > 0) ParameterVectors.AddScaled(result, v, Settings.Damping);
        ParameterVectors.Mask(result, masks);
        return ParameterVectors.ToOuterScope(result);
    }

    /// <summary>∇²L_train·v by double backward, averaged over the batches used (in the caller's dispose scope).</summary>
    internal Tensor[] LossHessianProduct(IReadOnlyList<Tensor> v)
    {
        var result = ParameterVectors.Zeros(parameters);
        for (var i = 0; i < batches; i++)
        {
            using var step = NewDisposeScope();
            using var grad = enable_grad();
            var loss = problem.TrainingLoss(i);
            var gradients = autograd.grad([loss], parameters, retain_graph: true, create_graph: true, allow_unused: true);
            Tensor? inner = null;
            for (var j = 0; j < parameters.Length; j++)
            {
                if (gradients[j] is not { } g || g.IsInvalid || !g.requires_grad) continue;
                var term = g.mul(v[j].detach()).sum();
                inner = inner is null ? term : inner.add(term);
            }
            if (inner is null) continue;
            var products = autograd.grad([inner], parameters, allow_unused: true);
            for (var j = 0; j < parameters.Length; j++)
                if (products[j] is { } hv && !hv.IsInvalid) result[j].add_(hv.detach());
        }
        ParameterVectors.Scale(result, 1.0 / batches);
        return result;
    }

    /// <summary>∇²R·v at strength 1 by a central difference of ∂R/∂w, the gate's g held at its value at w (in the caller's dispose scope).</summary>
    internal Tensor[] PenaltyHessianProduct(IReadOnlyList<Tensor> v)
    {
        var indices = Enumerable.Range(0, parameters.Length).Where(j => penalized[j]).ToArray();
        var vNorm = ParameterVectors.Norm(indices.Select(j => v[j]).ToArray());
        if (vNorm == 0) return ParameterVectors.Zeros(parameters);
        var weights = indices.Select(j => problem.Parameters[j]).ToArray();
        double wNorm;
        using (no_grad()) wNorm = ParameterVectors.Norm(weights);
        var h = Math.Cbrt(indices.Max(j => MachineEpsilon(parameters[j].dtype))) * (1 + wNorm) / vNorm;
        Tensor[] plus, minus;
        using (var perturbation = new ParameterPerturbation(weights))
        {
            try
            {
                perturbation.MoveTo(indices.Select(j => v[j].mul(HeldScalar.Of(h))).ToArray());
                plus = PenaltyGradient();
                perturbation.MoveTo(indices.Select(j => v[j].mul(HeldScalar.Of(-h))).ToArray());
                minus = PenaltyGradient();
            }
            finally
            {
                perturbation.Restore();
            }
        }
        ParameterVectors.AddScaled(plus, minus, -1);
        ParameterVectors.Scale(plus, 1 / (2 * h));
        return plus;
    }

    /// <summary>F and ∇_w F (masked) at the current weights: the mean validation loss over the problem's validation batches.</summary>
    internal static (double Loss, Tensor[] Gradient) UpperObjective(TuningProblem problem)
    {
        var parameters = problem.Parameters.Select(p => (Tensor)p).ToArray();
        var masks = parameters.Select(p => problem.Masks?.MaskOf(p)).ToArray();
        return MeanGradient(problem.ValidationLoss, problem.ValidationBatches, parameters, masks);
    }

    /// <summary>The mean over batches 0…count−1 of a loss and of its gradient (masked), by autograd.grad (the parameters' .grad stay untouched).</summary>
    private static (double Loss, Tensor[] Gradient) MeanGradient(Func<int, Tensor> lossOf, int count, Tensor[] parameters, Tensor?[] masks)
    {
        var sum = ParameterVectors.Zeros(parameters);
        var total = 0.0;
        for (var i = 0; i < count; i++)
        {
            using var step = NewDisposeScope();
            using var grad = enable_grad();
            var loss = lossOf(i);
            total += loss.detach().to(float64).item<double>();
            var gradients = autograd.grad([loss], parameters, allow_unused: true);
            for (var j = 0; j < parameters.Length; j++)
                if (gradients[j] is { } g && !g.IsInvalid) sum[j].add_(g.detach());
        }
        ParameterVectors.Scale(sum, 1.0 / count);
        ParameterVectors.Mask(sum, masks);
        return (total / count, sum);
    }

    // ∂R/∂w at strength 1 at the current weights, through AddGradient on a copy of the loss gradient at w; the
    // regularizer's state is restored afterwards, so that every call sees the same gate.
    private Tensor[] PenaltyGradient()
    {
        var result = ParameterVectors.Zeros(parameters);
        var named = parameters.Select((p, j) => ($"tuning/{j}", p)).ToList();
        var state = problem.Regularizer.SaveState(named);
        try
        {
            using var _ = no_grad();
            for (var j = 0; j < parameters.Length; j++)
            {
                if (!penalized[j]) continue;
                result[j].copy_(lossGradient[j]);
                problem.Regularizer.AddGradient(parameters[j], result[j], 1.0);
                result[j].sub_(lossGradient[j]);
            }
        }
        finally
        {
            problem.Regularizer.LoadState(named, state);
            ParameterVectors.Dispose(state.Values);
        }
        ParameterVectors.Mask(result, masks);
        return result;
    }

    private ConjugateGradientResult Solve(IReadOnlyList<Tensor> b, double tolerance, IReadOnlyList<Tensor>? start, CancellationToken cancellationToken)
    {
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), $"must be > 0, got {tolerance}");
        if (start is not null) start = MaskedCopy(start);
        return ConjugateGradient.Solve(HessianVectorProduct, b, tolerance, Settings.MaxIterations, start, cancellationToken);
    }

    private Tensor[] MaskedCopy(IReadOnlyList<Tensor> v)
    {
        var copy = ParameterVectors.Clone(v);
        ParameterVectors.Mask(copy, masks);
        return copy;
    }

    private static double MachineEpsilon(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => Math.Pow(2, -52),
        ScalarType.Float32 => Math.Pow(2, -23),
        ScalarType.BFloat16 => Math.Pow(2, -7),
        _ => Math.Pow(2, -10),
    };

    /// <inheritdoc />
    public void Dispose()
    {
        ParameterVectors.Dispose(lossGradient);
        ParameterVectors.Dispose(penaltyGradient);
        ParameterVectors.Dispose(validationGradient);
    }
}
