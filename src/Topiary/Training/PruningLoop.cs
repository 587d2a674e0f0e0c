using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// The training loop of Bonetta et al. (arXiv 2204.04977), rebuilt from the authors' code and open
/// to other pruning policies: train with a regularizer whose strength γ restarts after each pruning
/// event; every E batches evaluate on the validation split and let the <see cref="PruningPolicy"/>
/// prune; keep the checkpoint with the fewest remaining parameters whose validation metric meets
/// the bound B; stop after P evaluations without such a new checkpoint, or at the epoch budget.
/// </summary>
public sealed class PruningLoop
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly ITrainingTask task;
    private readonly PruningOptions options;
    private readonly PruningPolicy policy;
    private readonly ILogger logger;

    /// <summary>Prepares a run over <paramref name="model"/>, which should already be trained dense.</summary>
    /// <param name="model">The model to prune.</param>
    /// <param name="task">Its data, loss and metric.</param>
    /// <param name="options">Settings of the run.</param>
    /// <param name="policy">When and what to prune; the flagship's <see cref="IterativeFractionPolicy"/> by default.</param>
    /// <param name="logger">Receives a debug line per pruning event.</param>
    /// <param name="initialMasks">Masks to continue from (e.g. those of a saved, already pruned model).</param>
    public PruningLoop(nn.Module<Tensor, Tensor> model, ITrainingTask task, PruningOptions options, PruningPolicy? policy = null,
        ILogger? logger = null, IReadOnlyDictionary<string, Tensor>? initialMasks = null)
    {
        options.Validate();
        this.model = model;
        this.task = task;
        this.options = options;
        this.policy = policy ?? new IterativeFractionPolicy(options.CropFraction);
        this.logger = logger ?? NullLogger.Instance;
        Masks = new PruningMasks(ParameterSelector.Select(model, options.PrunedScope));
        if (initialMasks is not null) Masks.RestoreMatching(initialMasks);
    }

    /// <summary>The masks of the prunable parameters.</summary>
    public PruningMasks Masks { get; }

    /// <summary>Runs the pruning phase and leaves the model in the selected checkpoint's state.</summary>
    public PruningOutcome Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var floor = new MetricFloor(options.BoundFor(task.HigherIsBetter), task.HigherIsBetter);
        var regularizer = RegularizerCatalog.Create(options.Method, options.Alpha);
        var regularized = ParameterSelector.Select(model, options.RegularizedScope).Select(p => p.Parameter).ToList();
        var stepsPerEpoch = task.StepsPerEpoch(options.BatchSize);
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        var gamma = new GammaSchedule(options.Gamma, options.GammaDecay, stepsPerEpoch);
        using var optimizer = OptimizerFactory.Create(options, model.parameters());
        var step = new RegularizedStep(model, optimizer, regularizer, regularized, Masks, task.Loss);
        var context = new PruningContext(Masks, floor, () => task.Validate(model), stepsPerEpoch, totalSteps, logger);
        using var selection = new CheckpointSelection(floor);

        var trajectory = new List<TrajectoryPoint>();
        var times = new List<double>();
        var recentLoss = new RunningMean();
        var clock = new Stopwatch();
        double? lastMetric = null;
        var stopReason = $"epoch budget of {options.Epochs} reached";

        void AfterPruning()
        {
            foreach (var entry in Masks.Entries) optimizer.MaskState(entry.Parameter, entry.Mask);
            gamma.Reset();
        }

        // Evaluates, records the point, updates the selection and lets the policy prune.
        bool EvaluateAndMaybePrune(double trainLoss)
        {
            var validation = task.Validate(model);
            lastMetric = validation.Metric;
            var remaining = Masks.Density;
            selection.Offer(model, Masks, context.Step, remaining, validation);
            var pruned = policy.AtEvaluation(context, validation);
            trajectory.Add(new TrajectoryPoint(context.Step, (double)context.Step / stepsPerEpoch, remaining, validation.Metric,
                validation.Loss, trainLoss, gamma.Current, pruned));
            if (pruned) AfterPruning();
            return selection.EvaluationsWithoutProgress >= options.Patience;
        }

        model.train();
        var stop = EvaluateAndMaybePrune(double.NaN);
        for (var epoch = 0; epoch < options.Epochs && !stop; epoch++)
        {
            foreach (var (inputs, targets) in task.EpochBatches(options.Seed, epoch, options.BatchSize))
            {
                double loss;
                using (inputs)
                using (targets)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    clock.Restart();
                    loss = step.Run(inputs, targets, gamma.Current);
                    times.Add(clock.Elapsed.TotalMilliseconds);
                }
                gamma.Advance();
                context.Step++;
                recentLoss.Add(loss);
                if (!double.IsFinite(loss)) throw new TrainingDivergedException(context.Step, loss);
                if (policy.AfterStep(context)) AfterPruning();

                if (context.Step % options.EvalEvery == 0)
                {
                    var trainLoss = recentLoss.Take();
                    stop = EvaluateAndMaybePrune(trainLoss);
                    progress?.Report(new TrainingProgress("prune", epoch + 1, options.Epochs, context.Step, totalSteps, trainLoss, lastMetric, Masks.Density, gamma.Current));
                    if (stop)
                    {
                        stopReason = $"no new smallest model at the bound in {options.Patience} evaluations (patience)";
                        break;
                    }
                }
                else if (context.Step % 20 == 0)
                {
                    progress?.Report(new TrainingProgress("prune", epoch + 1, options.Epochs, context.Step, totalSteps, recentLoss.Take(), lastMetric, Masks.Density, gamma.Current));
                }
            }
        }

        selection.RestoreBest(model, Masks);
        return new PruningOutcome(trajectory, selection.Step, selection.Validation, selection.RemainingFraction,
            selection.Describe(task.MetricName), stopReason, times);
    }
}

/// <summary>The training loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException(long step, double loss)
    : Exception($"training diverged at step {step}: the loss is {loss}; lower --lr or --gamma")
{
    /// <summary>The step at which the loss stopped being finite.</summary>
    public long Step { get; } = step;
}
