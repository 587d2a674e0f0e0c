using Topiary.Backend;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The data-emphasized ELBo of Harvey, Lu, Hughes et al., "Learning Hyperparameters via a Data-Emphasized Variational
/// Objective" (2024, seed paper #10): the prior variance τ² (the L2 strength) is learned on the training set, without a
/// validation split or a grid, by maximizing κ·Σ_i E_q[log p(y_i | x_i, w)] − KL(q(w) ‖ p(w)) over a mean-field Gaussian
/// posterior q(w) = N(m, diag s²) and the prior p(w) = N(μ₀, τ²I). Divided by κN it is, per the mean data loss L,
/// <c>minimize L(m + s⊙ε) + λ·KL(q ‖ p)/E</c> with E = κN (<see cref="Emphasis"/>; by default E = D, the number of
/// regularized weights, the paper's recommended κ = D/N, so that no dataset size is needed) and λ = the strength (1 is
/// the paper's objective; it multiplies the KL).
/// <para>
/// The model's weights are the means m. Per regularized tensor the regularizer keeps ρ with s = softplus(ρ), started at
/// s₀ = <see cref="InitialStd"/> (1e-3 by default, an absolute value, small against trained weights), and the prior mean
/// μ₀: 0, or with <see cref="CenterAtStart"/> the weights the first step sees (for fine-tuning). τ² is one scalar shared
/// by all regularized weights, as in the paper. Each step (<see cref="ComputeGradients"/>):
/// (1) τ² ← (‖m − μ₀‖² + Σ s²)/D, the closed-form maximizer of the ELBo over τ² for the current q (every step);
/// (2) one sample ε ~ N(0, I) from the regularizer's own CPU generator (seeded with <see cref="Seed"/>; drawn per tensor
///     in the order of the closure's parameters, in the tensor's dtype), the weights set to w = m + s⊙ε, one forward and
///     backward pass, and m restored bit-exactly;
/// (3) the mean's gradient g_w + λ·(m − μ₀)/(τ²E) is left in <c>.grad</c> for the model's optimizer;
/// (4) ρ's gradient (g_w⊙ε + λ·(s/τ² − 1/s)/E)·sigmoid(ρ) is stepped by the regularizer's own optimizer
///     (<see cref="Optimizer"/>: Adam by default, learning rate <see cref="LearningRate"/> = 1e-2).
/// Its effect on m is L2 weight decay toward μ₀ of strength <see cref="EffectiveStrength"/> = λ/(2τ²E), with τ² learned.
/// </para>
/// <para>
/// Pruned entries are not weights of the posterior: they are not perturbed, and are excluded from D, from the norms and
/// from the KL; each step reads the masks from the closure (<see cref="ObjectiveClosure.MaskOf"/>). It acts on every
/// trainable tensor of the closure it <see cref="GradientRegularizer.AppliesTo"/> (all of them), like the other terms that
/// replace the backward pass. The data loss it returns is the one at the sampled weights w (the paper's one-sample
/// estimator: one forward/backward pass per step, no extra pass at m). Strength 0 is a plain backward pass. It keeps ρ,
/// Adam's two moments and (when centered) μ₀ per weight: three or four copies of the regularized weights. It replaces
/// the backward pass, so it cannot be combined with another term that does (SAM, AMP, F-GR, QAT).
/// </para>
/// </summary>
public sealed class DataEmphasizedElbo : GradientRegularizer
{
    private const double Beta1 = 0.9, Beta2 = 0.999, AdamEpsilon = 1e-8;
    private const string ScalarsKey = "#scalars", StepsKey = "#steps";

    private readonly PerParameterTensors rho = new(".rho", p => p.shape);
    private readonly PerParameterTensors priorMean = new(".prior-mean", p => p.shape);
    private readonly PerParameterTensors firstMoment = new(".rho-adam-m", p => p.shape);
    private readonly PerParameterTensors secondMoment = new(".rho-adam-v", p => p.shape);
    // Which entries were weights of the posterior at the last step (not checkpointed: every step reads them anew).
    private readonly PerParameterTensors alive = new(".alive", p => p.shape);
    private readonly double initialRho;
    private Generator generator;
    private long steps;

    /// <summary>Creates the objective.</summary>
    /// <param name="emphasis">E = κN, the data term's weight times the number of examples; null (the default): E = D.</param>
    /// <param name="centerAtStart">Whether the prior mean μ₀ is the weights at the first step (else 0).</param>
    /// <param name="initialStd">s₀, the posterior standard deviation every weight starts with.</param>
    /// <param name="learningRate">The learning rate of the optimizer of ρ.</param>
    /// <param name="optimizer">The optimizer of ρ.</param>
    /// <param name="seed">The seed of the generator of ε.</param>
    /// <exception cref="ArgumentOutOfRangeException">E, s₀ or the learning rate is not a positive finite number.</exception>
    public DataEmphasizedElbo(double? emphasis = null, bool centerAtStart = false, double initialStd = 1e-3, double learningRate = 1e-2,
        PosteriorStdOptimizer optimizer = PosteriorStdOptimizer.Adam, ulong seed = 0)
    {
        if (emphasis is { } e && !(e > 0 && double.IsFinite(e)))
            throw new ArgumentOutOfRangeException(nameof(emphasis), e, "the emphasis E = κN must be a positive number");
        if (!(initialStd > 0 && double.IsFinite(initialStd)))
            throw new ArgumentOutOfRangeException(nameof(initialStd), initialStd, "the initial posterior std must be a positive number");
        if (!(learningRate > 0 && double.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive number");
        Emphasis = emphasis;
        CenterAtStart = centerAtStart;
        InitialStd = initialStd;
        LearningRate = learningRate;
        Optimizer = optimizer;
        Seed = seed;
        // softplus⁻¹(s₀) = log(e^s₀ − 1) = s₀ + log(1 − e^−s₀) (relative rounding ~1e-16/s₀ in the logarithm's argument).
        initialRho = initialStd + Math.Log(1 - Math.Exp(-initialStd));
        generator = new Generator(seed);
    }

    /// <summary>E = κN as given, or null for E = D (the number of regularized weights, counted every step).</summary>
    public double? Emphasis { get; }

    /// <summary>Whether the prior is centered at the weights of the first step rather than at 0.</summary>
    public bool CenterAtStart { get; }

    /// <summary>s₀, the posterior standard deviation every weight starts with.</summary>
    public double InitialStd { get; }

    /// <summary>The learning rate of <see cref="Optimizer"/>.</summary>
    public double LearningRate { get; }

    /// <summary>The optimizer of ρ (s = softplus(ρ)).</summary>
    public PosteriorStdOptimizer Optimizer { get; }

    /// <summary>The seed of the generator of ε.</summary>
    public ulong Seed { get; }

    /// <summary>τ², the prior variance set at the start of the last step; NaN before the first.</summary>
    public double PriorVariance { get; private set; } = double.NaN;

    /// <summary>D, the number of regularized (unpruned) weights at the last step.</summary>
    public long WeightCount { get; private set; }

    /// <summary>The E of the last step: <see cref="Emphasis"/>, or D; NaN before the first step.</summary>
    public double CurrentEmphasis { get; private set; } = double.NaN;

    /// <summary>The strength λ of the last step.</summary>
    public double CurrentStrength { get; private set; } = double.NaN;

    /// <summary>
    /// The L2 strength γ of γ·‖m − μ₀‖² (as <see cref="L2WeightDecay"/>) that the KL puts on the means at the last step,
    /// λ/(2τ²E); NaN before the first step.
    /// </summary>
    public double EffectiveStrength => CurrentStrength / (2 * PriorVariance * CurrentEmphasis);

    /// <inheritdoc />
    public override string Name => "elbo";

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <summary>A copy of the posterior standard deviations s = softplus(ρ) of <paramref name="parameter"/>, or null before its first step.</summary>
    public Tensor? PosteriorStd(Tensor parameter)
    {
        using var _ = no_grad();
        return rho.TryGet(parameter, out var r) ? Softplus(r) : null;
    }

    /// <summary>λ·KL(q ‖ p)/E over the unpruned entries of <paramref name="weight"/> (0 before its first step); differentiable in the weight (the means).</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        if (!rho.TryGet(weight, out var r) || double.IsNaN(PriorVariance))
            return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        using var scope = NewDisposeScope();
        var tau2 = PriorVariance;
        var s = Softplus(r);
        var difference = Centered(weight, weight);
        // Per entry: log(τ/s) + (s² + (m − μ₀)²)/(2τ²) − ½.
        var kl = s.square().add(difference.square()).mul(HeldScalar.Of(1 / (2 * tau2))).sub(s.log()).add(HeldScalar.Of(0.5 * Math.Log(tau2) - 0.5));
        if (alive.TryGet(weight, out var entries)) kl = kl.mul(entries.to_type(kl.dtype));
        return kl.sum().mul(HeldScalar.Of(strength / CurrentEmphasis)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is negative or not finite.</exception>
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (!(strength >= 0 && double.IsFinite(strength))) throw new ArgumentOutOfRangeException(nameof(strength), strength, "the KL's weight λ must be a finite number ≥ 0");
        var weights = objective.Parameters.Where(p => p.requires_grad && AppliesTo(p)).ToList();
        if (strength == 0 || weights.Count == 0) return objective.Backward();
        using var scope = NewDisposeScope();
        var masks = AliveEntries(objective, weights);
        var stds = new List<Tensor>();
        double count = 0, squares = 0;
        using (no_grad())
        {
            for (var i = 0; i < weights.Count; i++)
            {
                var w = weights[i];
                if (!rho.TryGet(w, out var r))
                {
                    rho.Set(w, full_like(w, HeldScalar.Of(initialRho)).detach());
                    rho.TryGet(w, out r);
                }
                if (CenterAtStart && !priorMean.TryGet(w, out _)) priorMean.Set(w, w.detach().clone());
                alive.Set(w, masks[i]);
                var entries = masks[i].to_type(w.dtype);
                var s = Softplus(r).mul_(entries);
                stds.Add(s);
                count += masks[i].sum().item<long>();
                squares += Centered(w, w.detach()).mul(entries).square().sum(float64).item<double>() + s.square().sum(float64).item<double>();
            }
        }
        if (count == 0) return objective.Backward().MoveToOuterDisposeScope();
        // (1) τ² for the current q, the closed-form maximizer of the ELBo.
        PriorVariance = squares / count;
        WeightCount = (long)count;
        CurrentEmphasis = Emphasis ?? count;
        CurrentStrength = strength;
        // (2) One sample of w = m + s⊙ε; pruned entries (s = 0 there) stay put.
        var noise = weights.Select(w => randn(w.shape, dtype: w.dtype, generator: generator).to(w.device)).ToList();
        Tensor loss;
        using (var perturbation = new ParameterPerturbation(weights))
        {
            perturbation.MoveTo(noise.Select((e, i) => e.mul(stds[i])).ToList());
            try
            {
                loss = objective.Backward();
            }
            finally
            {
                perturbation.Restore();
            }
        }
        objective.MaskGradients();
        using (no_grad())
        {
            steps++;
            var meanScale = strength / (PriorVariance * CurrentEmphasis);
            for (var i = 0; i < weights.Count; i++)
            {
                var w = weights[i];
                if (w.grad is null) w.grad = zeros_like(w);
                var g = w.grad;
                rho.TryGet(w, out var r);
                var s = Softplus(r);
                // (4) ∂/∂ρ of L(m + s⊙ε) + λ·KL/E, zero at pruned entries.
                var klBySd = s.div(HeldScalar.Of(PriorVariance)).sub(s.reciprocal()).mul(HeldScalar.Of(strength / CurrentEmphasis));
                var rhoGradient = where(masks[i], g.mul(noise[i]).add(klBySd).mul(r.sigmoid()), zeros_like(r));
                // (3) ∂/∂m: the gradient at w plus the KL's pull toward μ₀.
                g.add_(Centered(w, w.detach()).mul(masks[i].to_type(w.dtype)), alpha: HeldScalar.Of(meanScale));
                StepRho(w, r, rhoGradient, masks[i]);
            }
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>ρ, Adam's moments, μ₀ (when centered) by parameter name, and τ², E, D, λ, the step count and the generator's state.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = rho.Save(parameters);
        priorMean.SaveInto(state, parameters);
        firstMoment.SaveInto(state, parameters);
        secondMoment.SaveInto(state, parameters);
        state[ScalarsKey] = tensor(new[] { PriorVariance, WeightCount, CurrentEmphasis, CurrentStrength }, dtype: float64);
        state[StepsKey] = tensor(new[] { steps }, dtype: int64);
        GeneratorState.Save(state, generator);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        var used = rho.LoadFrom(state, parameters) + priorMean.LoadFrom(state, parameters)
            + firstMoment.LoadFrom(state, parameters) + secondMoment.LoadFrom(state, parameters);
        alive.LoadFrom(new Dictionary<string, Tensor>(), parameters);
        if (state.TryGetValue(ScalarsKey, out var scalars))
        {
            var values = scalars.to_type(float64).data<double>().ToArray();
            if (values.Length != 4) throw new ArgumentException($"regularizer state '{ScalarsKey}' has {values.Length} values, expected 4");
            (PriorVariance, WeightCount, CurrentEmphasis, CurrentStrength) = (values[0], (long)values[1], values[2], values[3]);
            used++;
        }
        else (PriorVariance, WeightCount, CurrentEmphasis, CurrentStrength) = (double.NaN, 0, double.NaN, double.NaN);
        steps = state.TryGetValue(StepsKey, out var count) ? count.to_type(int64).item<long>() : 0;
        if (state.ContainsKey(StepsKey)) used++;
        GeneratorState.Replace(ref generator, GeneratorState.Restore(state, Seed, ref used));
        PerParameterTensors.EnsureAllUsed(state, used);
    }

    // What is a weight of the posterior: the closure's mask (1 = kept), every entry of an unpruned tensor.
    private static List<Tensor> AliveEntries(ObjectiveClosure objective, IReadOnlyList<Parameter> weights)
    {
        using (no_grad())
            return weights.Select(w => objective.MaskOf(w) is { } mask ? mask.ne(HeldScalar.Of(0.0)) : ones_like(w, dtype: ScalarType.Bool)).ToList();
    }

    // m − μ₀ (μ₀ = 0 unless centered) of the parameter, from its values (the parameter or a detached view of it).
    private Tensor Centered(Tensor parameter, Tensor values) => priorMean.TryGet(parameter, out var mean) ? values.sub(mean) : values;

    // softplus(ρ) = max(ρ, 0) + log(1 + e^−|ρ|), without overflow.
    private static Tensor Softplus(Tensor r) => r.relu().add(r.abs().neg().exp().log1p());

    private void StepRho(Tensor weight, Tensor r, Tensor gradient, Tensor mask)
    {
        if (Optimizer == PosteriorStdOptimizer.Sgd)
        {
            r.add_(gradient, alpha: HeldScalar.Of(-LearningRate));
            return;
        }
        if (!firstMoment.TryGet(weight, out var m1))
        {
            firstMoment.Set(weight, zeros_like(r));
            secondMoment.Set(weight, zeros_like(r));
            firstMoment.TryGet(weight, out m1);
        }
        secondMoment.TryGet(weight, out var m2);
        m1.mul_(HeldScalar.Of(Beta1)).add_(gradient, alpha: HeldScalar.Of(1 - Beta1));
        m2.mul_(HeldScalar.Of(Beta2)).addcmul_(gradient, gradient, value: HeldScalar.Of(1 - Beta2));
        var denominator = m2.sqrt().div_(HeldScalar.Of(Math.Sqrt(1 - Math.Pow(Beta2, steps)))).add_(HeldScalar.Of(AdamEpsilon));
        var update = m1.div(denominator).mul_(HeldScalar.Of(LearningRate / (1 - Math.Pow(Beta1, steps))));
        // Pruned entries keep their ρ (their moments may still hold values from before they were pruned).
        r.sub_(where(mask, update, zeros_like(update)));
    }
}
