using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Tuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Pruning as a component of the user's own training loop, over any TorchSharp model, optimizer and learning-rate
/// schedule (in the spirit of Torch-Pruning's <c>pruner.regularize(model)</c> and Lightning's pruning callback):
/// <code>
/// using var pruning = new PruningSession(model, new RelevancePruning { Gamma = 1e-3 },
///     new PruningSessionSettings { Bound = new MetricFloor(0.895), StepsPerEpoch = batches });
/// pruning.Attach(optimizer);                                  // any torch.optim optimizer, or Topiary's
/// // each step:
/// optimizer.zero_grad();
/// var loss = criterion(model.forward(x), y); loss.backward();
/// pruning.BeforeStep();                                       // g += ∂R/∂w, pruned gradients zeroed
/// optimizer.step(); scheduler.step();
/// pruning.AfterStep();                                        // proximal step, pruned weights re-zeroed
/// // every E steps:
/// pruning.Evaluate(validate());                              // prunes when the metric beats the bound
/// // at the end:
/// pruning.RestoreBest(); pruning.Bake();
/// </code>
/// Regularizers that need the forward pass (loss penalties, activation penalties, SAM-like terms that run their own
/// backward passes) take <see cref="Backward"/> instead of <c>loss.backward()</c> + <see cref="BeforeStep"/>.
/// Pruned entries stay exactly 0 whatever the optimizer: their gradients are zeroed before the step, the weights
/// after it, and the optimizer's state of every pruned entry is cleared when it is pruned. The selected (best)
/// model is kept with its buffers (BatchNorm's running statistics).
/// </summary>
public sealed partial class PruningSession : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly PruningSessionSettings settings;
    private readonly RegularizedStep step;
    private readonly GammaSchedule gamma;
    private readonly CheckpointSelection selection;
    private readonly PruningContext context;
    private readonly ILogger logger;
    private Func<Tensor, Tensor, Tensor>? loss;
    private OptimizerAccess? optimizer;
    private readonly WeightRewind? rewind;
    private readonly IReadOnlyList<Parameter> regularized;
    private readonly GradientRegularizer scheduled;
    private readonly List<TuningRecord> tuningHistory = [];

    /// <summary>Prepares pruning of <paramref name="model"/> (normally already trained dense) by <paramref name="method"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="method">What to regularize and how to prune.</param>
    /// <param name="settings">The bound, the epoch length and the selectors.</param>
    /// <param name="initialMasks">Masks to continue from by parameter name (e.g. those of a saved, already pruned model).</param>
    /// <exception cref="PruningMethodException">A setting of the method or the session is out of range.</exception>
    /// <exception cref="Topiary.Pruning.Toolkit.PruningSelectionException">A selector matches no parameter.</exception>
    public PruningSession(nn.Module<Tensor, Tensor> model, PruningMethod method, PruningSessionSettings settings,
        IReadOnlyDictionary<string, Tensor>? initialMasks = null)
    {
        TorchBackend.EnsureVerified();
        settings.Validate();
        method.Validate();
        this.model = model;
        this.settings = settings;
        Method = method;
        logger = settings.Logger ?? NullLogger.Instance;
        Masks = new PruningMasks(settings.PrunableSelector.Select(model));
        // One set of masks per model: what the toolkit (Prune.*) pruned before carries over, and from now on the
        // toolkit's calls act on the masks this session keeps.
        if (initialMasks is not null) Masks.RestoreMatching(initialMasks);
        else if (Topiary.Pruning.Toolkit.Prune.MasksOf(model) is { } attached)
        {
            var copies = attached.Snapshot();
            Masks.RestoreMatching(copies);
            foreach (var copy in copies.Values) copy.Dispose();
        }
        Topiary.Pruning.Toolkit.Prune.Register(model, Masks);
        var regularized = (settings.Regularized ?? settings.PrunableSelector).Select(model).Select(p => p.Parameter).ToList();
        var parts = method.Build(Masks, new PruningPlan(settings.StepsPerEpoch, settings.TotalSteps, settings.EvaluationInterval, settings.Bound.HigherIsBetter));
        Regularizer = parts.Regularizer;
        Policy = parts.Policy;
        this.regularized = regularized;
        scheduled = parts.Scheduled ?? parts.Regularizer;
        Tuner = method.Tuning?.Create();
        GradientRegularizer stepped;
        try
        {
            Tuner?.EnsureSupported(scheduled);
            stepped = Tuner?.Wrap(Regularizer, regularized) ?? Regularizer;
        }
        catch (ArgumentException e)
        {
            throw new PruningMethodException(method.GetType().Name, nameof(PruningMethod.Tuning), e.Message.Split('\n')[0]);
        }
        step = new RegularizedStep(model, stepped, regularized, Masks, (output, target) =>
            (loss ?? throw new InvalidOperationException("no loss function")).Invoke(output, target));
        Importance = new GradientImportance(method.Criterion, Masks);
        if (method is IterativeCropPruning { RewindStep: { } rewindStep })
        {
            rewind = new WeightRewind(rewindStep);
            rewind.Observe(0, model);
        }
        var keepsGradients = Policy.ReadsDenseGradients;
        if (Importance.ReadsGradients || keepsGradients)
            step.ObserveGradients = () =>
            {
                Importance.Observe();
                // The step being taken is the next one; AfterStep counts it.
                if (keepsGradients && Policy.ReadsDenseGradientsAt(Step + 1)) KeepDenseGradients();
            };
        gamma = new GammaSchedule(method.Strength, method.StrengthDecays, settings.StepsPerEpoch);
        selection = new CheckpointSelection(settings.Bound);
        context = new PruningContext(Masks, settings.Bound,
            settings.Validator ?? (() => throw new InvalidOperationException($"the {method.Name} schedule re-evaluates the model: set {nameof(PruningSessionSettings)}.{nameof(PruningSessionSettings.Validator)}")),
            settings.StepsPerEpoch, settings.TotalSteps ?? long.MaxValue, logger)
        {
            Importance = Importance.Criterion,
            DenseGradient = e => denseGradients.GetValueOrDefault(e.Name),
        };
    }

    // The last step's gradients before masking, for a policy that regrows by them (RigL); kept only for such a policy.
    private readonly Dictionary<string, Tensor> denseGradients = [];

    private void KeepDenseGradients()
    {
        using var _ = no_grad();
        foreach (var e in Masks.Entries)
        {
            if (e.Parameter.grad is not { } g) continue;
            if (denseGradients.TryGetValue(e.Name, out var kept)) kept.copy_(g);
            else denseGradients[e.Name] = g.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <summary>The method.</summary>
    public PruningMethod Method { get; }

    /// <summary>The masks of the pruned parameters.</summary>
    public PruningMasks Masks { get; }

    /// <summary>The regularizer the method built (with its extra terms).</summary>
    public GradientRegularizer Regularizer { get; }

    /// <summary>The pruning schedule the method built.</summary>
    public PruningPolicy Policy { get; }

    /// <summary>The scores the schedule ranks by (<see cref="PruningMethod.Criterion"/>), kept up to date from each step's gradients.</summary>
    public GradientImportance Importance { get; }

    /// <summary>The optimizer attached, if any.</summary>
    public OptimizerAccess? Optimizer => optimizer;

    /// <summary>Optimizer steps taken in this session.</summary>
    public long Step => context.Step;

    /// <summary>The regularizer's strength for the next step: γ_t of the method's schedule, times the tuned multiplier m when the method is tuned.</summary>
    public double Strength => gamma.Current * (Tuner?.Multiplier ?? 1);

    /// <summary>The tuner of the strength (<see cref="PruningMethod.Tuning"/>), or null when the strength is hand-set.</summary>
    public StrengthTuner? Tuner { get; }

    /// <summary>Every update of <see cref="Tuner"/> so far, by step.</summary>
    public IReadOnlyList<TuningRecord> TuningHistory => tuningHistory;

    /// <summary>Fraction of the prunable parameters left.</summary>
    public double Remaining => Masks.Density;

    /// <summary>Whether patience has run out (<see cref="PruningSessionSettings.Patience"/>).</summary>
    public bool ShouldStop => selection.EvaluationsWithoutProgress >= settings.Patience;

    /// <summary>The settings.</summary>
    public PruningSessionSettings Settings => settings;

    /// <summary>Attaches one of TorchSharp's optimizers (SGD, Adam, AdamW, RMSprop, …).</summary>
    public void Attach(torch.optim.Optimizer optimizer) => Attach(OptimizerAccess.Of(optimizer));

    /// <summary>Attaches one of Topiary's optimizers (Adam, SGD, Muon, steepest descent, Scion).</summary>
    public void Attach(MaskableOptimizer optimizer) => Attach(OptimizerAccess.Of(optimizer));

    /// <summary>Attaches an optimizer through its access; pruning clears its state of removed entries, and checkpoints save it.</summary>
    public void Attach(OptimizerAccess optimizer) => this.optimizer = optimizer;

    /// <summary>
    /// A learning-rate scheduler whose position checkpoints of this session keep (<see cref="Capture"/>). The user still
    /// calls its <c>step()</c>.
    /// </summary>
    public torch.optim.lr_scheduler.LRScheduler? Scheduler { get; set; }

    /// <summary>Whether the random generator's state travels in checkpoints, so that dropout draws the same masks after a resume. Default true.</summary>
    public bool KeepsRandomState { get; init; } = true;

    /// <summary>
    /// The first half of a step when the session runs the forward and backward passes: forward on
    /// <paramref name="inputs"/>, <paramref name="lossFunction"/> plus the regularizer's loss penalties, backward (or
    /// the passes of a term that replaces it, such as SAM), then what <see cref="BeforeStep"/> does. Gradients are
    /// cleared first. The attached optimizer gets the batch if it reads it (<see cref="ICurvatureOptimizer"/>). Returns the data loss.
    /// </summary>
    public double Backward(Tensor inputs, Tensor targets, Func<Tensor, Tensor, Tensor> lossFunction)
    {
        loss = lossFunction;
        var dataLoss = step.Backward(inputs, targets, Strength);
        optimizer?.UseBatch(step.BatchOf(inputs, targets));
        return dataLoss;
    }

    /// <summary>
    /// After the user's <c>loss.backward()</c> (once, or several times to accumulate): adds ∂R/∂w at the current
    /// strength, applies whole-gradient terms (clipping) and zeros the gradients of pruned entries.
    /// </summary>
    /// <exception cref="InvalidOperationException">The regularizer needs the forward pass: use <see cref="Backward"/>.</exception>
    public void BeforeStep() => step.AddRegularizerGradients(Strength);

    /// <summary>
    /// After the optimizer's step: the regularizer's projection (proximal steps), pruned weights re-zeroed, γ's schedule
    /// advanced, the regularizer told at an epoch boundary (<see cref="GradientRegularizer.OnEpoch"/>), and the schedule's per-step pruning (gradual magnitude pruning) with the optimizer state of what it
    /// removes cleared.
    /// </summary>
    /// <exception cref="InvalidOperationException">No optimizer is attached.</exception>
    public void AfterStep()
    {
        var attached = RequireOptimizer();
        step.Finish(Strength, attached.LearningRate);
        gamma.Advance();
        context.Step++;
        if (context.Step % settings.StepsPerEpoch == 0 && context.Step < context.TotalSteps)
            step.Regularizer.OnEpoch(model, checked((int)(context.Step / settings.StepsPerEpoch)) + 1, Epochs);
        rewind?.Observe(context.Step, model);
        if (Prune(AroundPruning is not null && Policy.MayPruneAfterStep(context), () => Policy.AfterStep(context))) AfterPruning();
    }

    // The run's length in epochs for GradientRegularizer.OnEpoch (a last partial epoch counts), 0 when it is not known.
    private int Epochs => settings.TotalSteps is { } total ? checked((int)((total + settings.StepsPerEpoch - 1) / settings.StepsPerEpoch)) : 0;

    /// <summary>The user's validation metric (and loss, where the schedule reads it: LOBSTER).</summary>
    public EvaluationOutcome Evaluate(double metric, double loss = double.NaN) => Evaluate(new EvaluationResult(metric, loss));

    /// <summary>
    /// One validation result: the model becomes the selection if it is the smallest at the bound so far (with its
    /// buffers), then the schedule may prune (the flagship's rule: when the metric is strictly better than the bound).
    /// </summary>
    public EvaluationOutcome Evaluate(EvaluationResult validation)
    {
        var remaining = Masks.Density;
        var strength = Strength;
        selection.Offer(model, Masks, context.Step, remaining, validation);
        var selected = selection.EvaluationsWithoutProgress == 0;
        var pruned = Prune(true, () => Policy.AtEvaluation(context, validation));
        if (pruned) AfterPruning();
        return new EvaluationOutcome(context.Step, remaining, pruned ? Masks.Density : remaining, strength, pruned, selected, ShouldStop);
    }

    /// <summary>
    /// The relevance gate exp(−s/α) of Bonetta et al. (arXiv 2204.04977) on every prunable tensor as of the last step:
    /// α and the quantiles at <paramref name="levels"/> (default <see cref="GateQuantiles.Levels"/>) of s = |∂L/∂w| (or its
    /// running average) and of the gate, over the unpruned entries. It reads what the step kept: no extra backward pass.
    /// Empty when the method has no relevance regularizer or before the first step.
    /// </summary>
    public IReadOnlyList<LayerGate> GateStatistics(IReadOnlyList<double>? levels = null)
    {
        var relevance = Regularizer as RelevanceWeightDecay
            ?? (Regularizer as CompositeRegularizer)?.Terms.Select(t => t.Regularizer).OfType<RelevanceWeightDecay>().FirstOrDefault();
        return relevance is null ? []
            : relevance.GateStatistics(Masks.Entries.Select(e => (e.Name, (Tensor)e.Parameter)), levels ?? GateQuantiles.Levels);
    }

    /// <summary>Puts the selected model (parameters, buffers and masks) back.</summary>
    /// <exception cref="InvalidOperationException">Nothing was evaluated yet.</exception>
    public void RestoreBest() => selection.RestoreBest(model, Masks);

    /// <summary>The selected model's step, remaining fraction and validation result; null before the first evaluation.</summary>
    public SelectedModel? Selected => selection.Best is null ? null
        : new SelectedModel(selection.Step, selection.RemainingFraction, selection.Validation, selection.MeetsBound);

    /// <summary>The selection in words, for reports, naming the metric as <paramref name="metricName"/>.</summary>
    public string DescribeSelection(string metricName) => selection.Describe(metricName);

    /// <summary>
    /// Ends pruning: the pruned weights are exact zeros in the model (they already are after every step), and the
    /// masks are returned by name for saving; the session must not step again.
    /// </summary>
    public Dictionary<string, Tensor> Bake()
    {
        Masks.ApplyToWeights();
        baked = true;
        return Masks.Snapshot();
    }

    private bool baked;

    /// <summary>
    /// Wraps every call of the schedule that may prune, for the runner's test curve: given the step and the call,
    /// it runs the call and returns whether it pruned.
    /// </summary>
    internal Func<long, Func<bool>, bool>? AroundPruning { get; set; }

    internal GammaSchedule Gamma => gamma;

    internal CheckpointSelection Selection => selection;

    internal PruningContext Context => context;

    internal nn.Module<Tensor, Tensor> Model => model;

    // Only where the schedule may prune does the wrapper run (it copies weights); a schedule that said it would not
    // prune at this step and prunes anyway would make the test curve wrong, so that is an error.
    private bool Prune(bool mayPrune, Func<bool> prune)
    {
        if (baked) throw new InvalidOperationException("the session was baked; start a new one to prune again");
        if (AroundPruning is not null && mayPrune) return AroundPruning(context.Step, prune);
        if (!prune()) return false;
        if (AroundPruning is not null)
            throw new InvalidOperationException($"pruning policy '{Policy.Name}' pruned after step {context.Step} although MayPruneAfterStep said it would not");
        return true;
    }

    private void AfterPruning()
    {
        var attached = RequireOptimizer();
        foreach (var entry in Masks.Entries) attached.MaskState(entry.Parameter, entry.Mask);
        if (rewind is not null && !rewind.Rewind(model, Masks, attached))
            logger.LogInformation("step {Step}: pruned before the rewind step {Rewind}, so the weights are not rewound", context.Step, rewind.Step);
        Importance.AfterPruning();
        gamma.Reset();
    }

    private OptimizerAccess RequireOptimizer() => optimizer
        ?? throw new InvalidOperationException($"attach the optimizer first ({nameof(PruningSession)}.{nameof(Attach)}): pruning clears its state of removed weights");

    /// <inheritdoc />
    public void Dispose()
    {
        Topiary.Pruning.Toolkit.Prune.Unregister(model, Masks);
        step.Dispose();
        Importance.Dispose();
        rewind?.Dispose();
        foreach (var g in denseGradients.Values) g.Dispose();
        selection.Dispose();
        Masks.Dispose();
        (Tuner as IDisposable)?.Dispose();
    }
}

/// <summary>The model a session selected.</summary>
/// <param name="Step">The step at which it was evaluated.</param>
/// <param name="RemainingFraction">Its fraction of prunable parameters left.</param>
/// <param name="Validation">Its validation result.</param>
/// <param name="MeetsBound">Whether it meets the bound (else it is the best-scoring model so far).</param>
public sealed record SelectedModel(long Step, double RemainingFraction, EvaluationResult Validation, bool MeetsBound);
