using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
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
    private readonly GradientRegularizer regularizer;
    private readonly ILogger logger;

    /// <summary>Prepares a run over <paramref name="model"/>, which should already be trained dense.</summary>
    /// <param name="model">The model to prune.</param>
    /// <param name="task">Its data, loss and metric.</param>
    /// <param name="options">Settings of the run.</param>
    /// <param name="policy">When and what to prune; by default the schedule of the options' method (<see cref="PruningMethods"/>; the flagship's <see cref="IterativeFractionPolicy"/>).</param>
    /// <param name="logger">Receives a debug line per pruning event.</param>
    /// <param name="initialMasks">Masks to continue from (e.g. those of a saved, already pruned model).</param>
    public PruningLoop(nn.Module<Tensor, Tensor> model, ITrainingTask task, PruningOptions options, PruningPolicy? policy = null,
        ILogger? logger = null, IReadOnlyDictionary<string, Tensor>? initialMasks = null)
    {
        TorchBackend.EnsureVerified();
        options.Validate();
        this.model = model;
        this.task = task;
        this.options = options;
        this.logger = logger ?? NullLogger.Instance;
        Masks = new PruningMasks(options.Recipe?.Selector.Select(model) ?? ParameterSelector.Select(model, options.PrunedScope));
        if (initialMasks is not null) Masks.RestoreMatching(initialMasks);
        // The method names both the regularizer and, unless one is given, the schedule (PruningMethods).
        var methodRegularizer = PruningMethods.CreateRegularizer(options, Masks);
        this.policy = policy ?? options.Recipe?.Schedule.CreatePolicy(options.Recipe.Limits, options.Recipe.Ranking) ?? PruningMethods.CreatePolicy(options, methodRegularizer, task.StepsPerEpoch(options.BatchSize), task.HigherIsBetter);
        // --reg terms join the method's regularizer in a weighted composite.
        regularizer = options.BuildRegularizer(methodRegularizer);
    }

    /// <summary>The masks of the prunable parameters.</summary>
    public PruningMasks Masks { get; }

    /// <summary>
    /// Checkpointing of the run: where to write checkpoints, what to resume from, how many divergences
    /// in a row to recover from. Without it the run keeps its last good checkpoint in memory only.
    /// </summary>
    public CheckpointOptions Checkpoints { get; init; } = new();

    /// <summary>
    /// Runs the pruning phase and leaves the model in the selected checkpoint's state. At every
    /// evaluation the whole state is checkpointed (and written atomically when
    /// <see cref="Checkpoints"/> names a directory). A non-finite loss or gradient rolls the run back
    /// to that checkpoint with half the learning rate; cancellation writes a checkpoint first. Right before
    /// every pruning event, and once for the selected model, the test split is evaluated for
    /// <see cref="PruningOutcome.TestTrajectory"/>: reporting only, no decision of the run reads it.
    /// </summary>
    /// <exception cref="TrainingInterruptedException"><paramref name="cancellationToken"/> was cancelled; the state is saved.</exception>
    /// <exception cref="DivergenceLimitException">Too many divergences in a row; the last good checkpoint is intact.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from does not fit this run.</exception>
    public PruningOutcome Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var floor = new MetricFloor(options.BoundFor(task.HigherIsBetter), task.HigherIsBetter);
        var regularized = ParameterSelector.Select(model, options.RegularizedScope).Select(p => p.Parameter).ToList();
        var stepsPerEpoch = task.StepsPerEpoch(options.BatchSize);
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        var gamma = new GammaSchedule(options.Gamma, options.GammaDecay, stepsPerEpoch);
        using var optimizer = OptimizerFactory.Create(options, model.parameters());
        using var step = new RegularizedStep(model, optimizer, regularizer, regularized, Masks, task.Loss);
        var context = new PruningContext(Masks, floor, () => task.Validate(model), stepsPerEpoch, totalSteps, logger);
        using var selection = new CheckpointSelection(floor);
        using var batches = new BatchCursor(task, options.Seed, options.BatchSize, stepsPerEpoch);

        var trajectory = new List<TrajectoryPoint>();
        var divergences = new List<DivergenceEvent>();
        var times = new List<double>();
        var recentLoss = new RunningMean();
        var clock = new Stopwatch();
        double? lastMetric = null;
        var tests = new PrePruningTests(model, Masks, task, options.TestCurve);
        var keeper = new LoopStateKeeper(model, Masks, optimizer, regularizer, gamma, selection, policy, context, recentLoss,
            trajectory, divergences, tests, options, Checkpoints.Annotations);
        byte[]? lastGood = null;

        void AfterPruning()
        {
            foreach (var entry in Masks.Entries) optimizer.MaskState(entry.Parameter, entry.Mask);
            gamma.Reset();
        }

        // Captures the state as the last good checkpoint (in memory, and on disk when configured).
        void SaveCheckpoint(bool selectionImproved = false)
        {
            using var checkpoint = keeper.Capture();
            lastGood = checkpoint.Encode();
            if (Checkpoints.LastPath is { } last) CheckpointFile.Write(last, lastGood);
            if (selectionImproved && Checkpoints.BestPath is { } best) CheckpointFile.Write(best, lastGood);
        }

        // Evaluates, records the point, updates the selection, lets the policy prune and checkpoints.
        void EvaluateAndMaybePrune(double trainLoss)
        {
            var validation = task.Validate(model);
            lastMetric = validation.Metric;
            var remaining = Masks.Density;
            selection.Offer(model, Masks, context.Step, remaining, validation);
            var pruned = tests.Around(context.Step, () => policy.AtEvaluation(context, validation));
            trajectory.Add(new TrajectoryPoint(context.Step, (double)context.Step / stepsPerEpoch, remaining, validation.Metric,
                validation.Loss, trainLoss, gamma.Current, pruned));
            if (pruned) AfterPruning();
            if (selection.EvaluationsWithoutProgress >= options.Patience)
                keeper.StopReason = $"no new smallest model at the bound in {options.Patience} evaluations (patience)";
            keeper.ConsecutiveFailures = 0;
            SaveCheckpoint(selectionImproved: selection.EvaluationsWithoutProgress == 0);
        }

        // Back to the last good checkpoint with half the learning rate; the event goes into the report.
        void RollBack(long failedStep, string cause)
        {
            var failures = keeper.ConsecutiveFailures + 1;
            if (failures >= Checkpoints.MaxConsecutiveDivergences)
                throw new DivergenceLimitException(failures, failedStep, cause, Checkpoints.LastPath);
            var halved = optimizer.LearningRate / 2;
            using (var checkpoint = TrainingCheckpoint.Decode("last good checkpoint", lastGood!))
                keeper.Restore(checkpoint, "last good checkpoint");
            optimizer.LearningRate = halved;
            keeper.ConsecutiveFailures = failures;
            divergences.Add(new DivergenceEvent(failedStep, cause, context.Step, halved));
            logger.LogWarning("step {Step}: {Cause}; rolled back to step {Back} with learning rate {Lr}", failedStep, cause, context.Step, halved);
            // Saved at once, so that a resumed run continues with the halved rate too.
            SaveCheckpoint();
        }

        model.train();
        if (Checkpoints.ResumeFrom is { } resume)
        {
            keeper.Restore(resume, resume.Source);
            lastGood = resume.Encode();
            logger.LogInformation("resumed at pruning step {Step}", context.Step);
        }
        else
        {
            EvaluateAndMaybePrune(double.NaN);
        }

        while (keeper.StopReason is null && context.Step < totalSteps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                SaveCheckpoint();
                throw new TrainingInterruptedException(context.Step, Checkpoints.LastPath, cancellationToken);
            }
            var epoch = (int)(context.Step / stepsPerEpoch) + 1;
            var (inputs, targets) = batches.Take(context.Step);
            double loss;
            string? divergence;
            using (inputs)
            using (targets)
            {
                clock.Restart();
                loss = step.Run(inputs, targets, gamma.Current);
                times.Add(clock.Elapsed.TotalMilliseconds);
                divergence = DivergenceGuard.Check(loss, model.parameters());
            }
            if (divergence is not null)
            {
                RollBack(context.Step + 1, divergence);
                continue;
            }
            gamma.Advance();
            context.Step++;
            recentLoss.Add(loss);
            if (PruneAfterStep(context, tests)) AfterPruning();

            if (context.Step % options.EvalEvery == 0)
            {
                var trainLoss = recentLoss.Take();
                EvaluateAndMaybePrune(trainLoss);
                progress?.Report(new TrainingProgress("prune", epoch, options.Epochs, context.Step, totalSteps, trainLoss, lastMetric, Masks.Density, gamma.Current));
            }
            else if (context.Step % 20 == 0)
            {
                progress?.Report(new TrainingProgress("prune", epoch, options.Epochs, context.Step, totalSteps, recentLoss.Take(), lastMetric, Masks.Density, gamma.Current));
            }
        }

        if (keeper.StopReason is null)
        {
            // A finished run is checkpointed as such, so resuming it only rewrites its outputs.
            keeper.StopReason = $"epoch budget of {options.Epochs} reached";
            SaveCheckpoint();
        }
        selection.RestoreBest(model, Masks);
        var (result, test) = tests.MeasureNow(selection.Step);
        return new PruningOutcome(trajectory, selection.Step, selection.Validation, selection.RemainingFraction,
            selection.Describe(task.MetricName), keeper.StopReason, times)
        {
            Divergences = divergences,
            SelectedTest = test,
            TestTrajectory = TestTrajectory.EndingAt(tests.Points, result),
            TestTrajectorySeconds = tests.Seconds,
        };
    }

    // The copy that the test measurement needs is taken only at steps where the policy may prune.
    private bool PruneAfterStep(PruningContext context, PrePruningTests tests)
    {
        if (policy.MayPruneAfterStep(context)) return tests.Around(context.Step, () => policy.AfterStep(context));
        if (!policy.AfterStep(context)) return false;
        throw new InvalidOperationException($"pruning policy '{policy.Name}' pruned after step {context.Step} although MayPruneAfterStep said it would not");
    }
}

/// <summary>The training loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException(long step, double loss)
    : Exception($"training diverged at step {step}: the loss is {loss}; lower --lr or --gamma")
{
    /// <summary>The step at which the loss stopped being finite.</summary>
    public long Step { get; } = step;
}
