using System.Text.Json.Nodes;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
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
    private readonly PruningRunSettings settings;
    private readonly JsonObject? runOptions;
    private readonly PruningSession session;
    private readonly string runIdentity;
    private readonly ILogger logger;

    /// <summary>Prepares a run over <paramref name="model"/>, which should already be trained dense.</summary>
    /// <param name="model">The model to prune.</param>
    /// <param name="task">Its data, loss and metric.</param>
    /// <param name="settings">The method, bound, budget and optimizer.</param>
    /// <param name="logger">Receives a debug line per pruning event.</param>
    /// <param name="initialMasks">Masks to continue from (e.g. those of a saved, already pruned model).</param>
    /// <param name="runOptions">
    /// The caller's own settings of the run (a command line's, say) as JSON, which checkpoints record and a resumed run
    /// must match, compared as canonical text; null for none.
    /// </param>
    /// <exception cref="PruningMethodException">A setting is out of range.</exception>
    public PruningLoop(nn.Module<Tensor, Tensor> model, ITrainingTask task, PruningRunSettings settings, ILogger? logger = null,
        IReadOnlyDictionary<string, Tensor>? initialMasks = null, JsonObject? runOptions = null)
    {
        TorchBackend.EnsureVerified();
        settings.Validate();
        this.model = model;
        this.task = task;
        this.settings = settings;
        this.runOptions = (JsonObject?)runOptions?.DeepClone();
        this.logger = logger ?? NullLogger.Instance;
        var stepsPerEpoch = task.StepsPerEpoch(settings.BatchSize);
        session = new PruningSession(model, settings.Method, new PruningSessionSettings
        {
            Bound = settings.Bound,
            StepsPerEpoch = stepsPerEpoch,
            TotalSteps = (long)stepsPerEpoch * settings.Epochs,
            EvaluationInterval = settings.EvaluationInterval,
            Patience = settings.Patience,
            Prunable = settings.Prunable,
            Regularized = settings.Regularized,
            Validator = () => task.Validate(model),
            Logger = this.logger,
        }, initialMasks);
        runIdentity = RunIdentity(settings, runOptions);
    }

    /// <summary>
    /// What a checkpoint must share with the run that resumes it, as canonical text: the command line's options where
    /// there are some (without the recipe, whose lists would compare by reference), the method as built (settings, extra
    /// regularizers, a recipe's schedule, limits and ranking), the selectors, the bound and the budget.
    /// </summary>
    private static string RunIdentity(PruningRunSettings s, JsonObject? runOptions) => string.Join("\n",
        runOptions is null ? "" : LoopStateKeeper.Identity(runOptions),
        s.Method.Describe().ToJsonString(),
        JsonSerializer.Serialize(new { s.Prunable, s.Regularized, s.Bound, s.Epochs, s.EvaluationInterval, s.Patience, s.BatchSize, s.Seed, s.TestCurve }, ReportJson.Options))
        // Only a run with the protocol adds a line, so that checkpoints of runs without it stay compatible.
        + (s.Sizes is null ? "" : "\n" + JsonSerializer.Serialize(new { s.Sizes.Sizes, s.Sizes.FineTuneSteps, s.Sizes.LearningRate }, ReportJson.Options));

    /// <summary>The masks of the prunable parameters.</summary>
    public PruningMasks Masks => session.Masks;

    /// <summary>The session that prunes: the method, its regularizer and schedule.</summary>
    public PruningSession Session => session;

    /// <summary>
    /// Checkpointing of the run: where to write checkpoints, what to resume from, how many divergences
    /// in a row to recover from. Without it the run keeps its last good checkpoint in memory only.
    /// </summary>
    public CheckpointOptions Checkpoints { get; init; } = new();

    /// <summary>
    /// Brings the caller's settings recorded by a checkpoint of an older version to the form of today's run options
    /// before they are compared (returns them unchanged when they are already in that form); null compares them as
    /// they are.
    /// </summary>
    public Func<JsonObject, JsonObject>? UpgradeRecordedOptions { get; init; }

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
        var stepsPerEpoch = session.Context.StepsPerEpoch;
        var totalSteps = session.Context.TotalSteps;
        using var optimizer = settings.Optimizer(model.parameters().ToList());
        session.Attach(optimizer);
        using var batches = new BatchCursor(task, settings.Seed, settings.BatchSize, stepsPerEpoch);

        var trajectory = new List<TrajectoryPoint>();
        var divergences = new List<DivergenceEvent>();
        var times = new List<double>();
        var recentLoss = new RunningMean();
        var clock = new Stopwatch();
        double? lastMetric = null;
        var tests = new PrePruningTests(model, Masks, task, settings.TestCurve);
        var sizes = new SizeForSizeProbe(model, Masks, task, settings.Sizes, settings.BatchSize, settings.Seed);
        // The size probe sees the state before the event and after it, as the test curve leaves it.
        session.AroundPruning = (step, prune) => sizes.Around(step, () => tests.Around(step, prune));
        var gates = new GateRecorder(session);
        var keeper = new LoopStateKeeper(session, recentLoss, trajectory, divergences, tests, sizes, gates, runOptions, runIdentity, Checkpoints.Annotations, UpgradeRecordedOptions);
        using var writer = new CheckpointWriter();
        TrainingCheckpoint? lastGood = null;
        var evaluationClock = new Stopwatch();
        var checkpointClock = new Stopwatch();
        var tuningClock = new Stopwatch();

        // Captures the state as the last good checkpoint: kept in memory for rollbacks, and, when a directory is
        // configured, encoded from that same capture for the background writer.
        void SaveCheckpoint(bool selectionImproved = false)
        {
            checkpointClock.Start();
            lastGood?.Dispose();
            lastGood = keeper.Capture();
            if (Checkpoints.LastPath is { } last) writer.Submit(lastGood, last, selectionImproved ? Checkpoints.BestPath : null);
            checkpointClock.Stop();
        }

        // Waits until the checkpoints handed to the writer are on disk (before the run ends or is interrupted).
        void FlushCheckpoints()
        {
            checkpointClock.Start();
            writer.Flush();
            checkpointClock.Stop();
        }

        // Evaluates, records the point, lets the session select and prune, and checkpoints. A tuned strength is updated
        // first, from the training since the last evaluation (not before the first step: nothing was trained yet).
        void EvaluateAndMaybePrune(double trainLoss)
        {
            if (settings.Method.Tuning is { } tuning && session.Step > 0 && trajectory.Count % tuning.EveryEvaluations == 0)
            {
                tuningClock.Start();
                TuneStrength(tuning, cancellationToken);
                tuningClock.Stop();
            }
            evaluationClock.Start();
            var validation = task.Validate(model);
            evaluationClock.Stop();
            gates.Record();
            lastMetric = validation.Metric;
            var outcome = session.Evaluate(validation);
            trajectory.Add(new TrajectoryPoint(outcome.Step, (double)outcome.Step / stepsPerEpoch, outcome.RemainingBefore, validation.Metric,
                validation.Loss, trainLoss, outcome.Strength, outcome.Pruned));
            if (outcome.ShouldStop)
                keeper.StopReason = $"no new smallest model at the bound in {settings.Patience} evaluations (patience)";
            keeper.ConsecutiveFailures = 0;
            SaveCheckpoint(selectionImproved: outcome.Selected);
        }

        // Back to the last good checkpoint with half the learning rate; the event goes into the report.
        void RollBack(long failedStep, string cause)
        {
            var failures = keeper.ConsecutiveFailures + 1;
            if (failures >= Checkpoints.MaxConsecutiveDivergences)
            {
                FlushCheckpoints();
                throw new DivergenceLimitException(failures, failedStep, cause, Checkpoints.LastPath);
            }
            var halved = optimizer.LearningRate / 2;
            keeper.Restore(lastGood!, "last good checkpoint");
            optimizer.SetLearningRate(halved);
            keeper.ConsecutiveFailures = failures;
            divergences.Add(new DivergenceEvent(failedStep, cause, session.Step, halved));
            logger.LogWarning("step {Step}: {Cause}; rolled back to step {Back} with learning rate {Lr}", failedStep, cause, session.Step, halved);
            // Saved at once, so that a resumed run continues with the halved rate too.
            SaveCheckpoint();
        }

        model.train();
        if (Checkpoints.ResumeFrom is { } resume)
        {
            keeper.Restore(resume, resume.Source);
            lastGood = keeper.Capture();
            logger.LogInformation("resumed at pruning step {Step}", session.Step);
        }
        else
        {
            EvaluateAndMaybePrune(double.NaN);
        }

        while (keeper.StopReason is null && session.Step < totalSteps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                SaveCheckpoint();
                FlushCheckpoints();
                throw new TrainingInterruptedException(session.Step, Checkpoints.LastPath, cancellationToken);
            }
            var epoch = (int)(session.Step / stepsPerEpoch) + 1;
            var (inputs, targets) = batches.Take(session.Step);
            double loss;
            string? divergence;
            using (inputs)
            using (targets)
            {
                clock.Restart();
                loss = session.Backward(inputs, targets, task.Loss);
                optimizer.Step();
                times.Add(clock.Elapsed.TotalMilliseconds);
                divergence = DivergenceGuard.Check(loss, model.parameters());
            }
            if (divergence is not null)
            {
                RollBack(session.Step + 1, divergence);
                continue;
            }
            clock.Restart();
            session.AfterStep();
            times[^1] += clock.Elapsed.TotalMilliseconds;
            recentLoss.Add(loss);

            if (session.Step % settings.EvaluationInterval == 0)
            {
                var trainLoss = recentLoss.Take();
                EvaluateAndMaybePrune(trainLoss);
                progress?.Report(new TrainingProgress("prune", epoch, settings.Epochs, session.Step, totalSteps, trainLoss, lastMetric, Masks.Density, session.Strength));
            }
            else if (session.Step % 20 == 0)
            {
                progress?.Report(new TrainingProgress("prune", epoch, settings.Epochs, session.Step, totalSteps, recentLoss.Take(), lastMetric, Masks.Density, session.Strength));
            }
        }

        if (keeper.StopReason is null)
        {
            // A finished run is checkpointed as such, so resuming it only rewrites its outputs.
            keeper.StopReason = $"epoch budget of {settings.Epochs} reached";
            SaveCheckpoint();
        }
        FlushCheckpoints();
        lastGood?.Dispose();
        session.RestoreBest();
        var selected = session.Selected!;
        var (result, test) = tests.MeasureNow(selected.Step);
        return new PruningOutcome(trajectory, selected.Step, selected.Validation, selected.RemainingFraction,
            session.DescribeSelection(task.Metric.Name), keeper.StopReason, times)
        {
            Divergences = divergences,
            SelectedTest = test,
            TestTrajectory = TestTrajectory.EndingAt(tests.Points, result),
            TestTrajectorySeconds = tests.Seconds,
            SizeResults = settings.Sizes is null ? null : sizes.Results.ToList(),
            SizeSeconds = sizes.Seconds,
            EvaluationSeconds = evaluationClock.Elapsed.TotalSeconds,
            CheckpointSeconds = checkpointClock.Elapsed.TotalSeconds,
            Gate = gates.Trace,
            Tuning = session.Tuner is null ? null : session.TuningHistory.ToList(),
            TuningSeconds = tuningClock.Elapsed.TotalSeconds,
        };
    }

    // One update of the tuned strength on a few training batches (their order fixed by the run's seed and the step, apart
    // from the training order) and the first validation batches.
    private void TuneStrength(Tuning.StrengthTuning tuning, CancellationToken cancellationToken)
    {
        var epoch = checked((int)(session.Step / session.Context.StepsPerEpoch));
        var training = task.EpochBatches(unchecked(settings.Seed * 31 + 17), epoch, settings.BatchSize).Take(tuning.TrainingBatches).ToList();
        var validation = task.ValidationBatches(settings.BatchSize).Take(tuning.ValidationBatches).ToList();
        try
        {
            var update = session.Tune(training, validation, task.Loss, cancellationToken);
            logger.LogDebug("step {Step}: tuned strength multiplier {Multiplier} (hypergradient {Hypergradient}, accepted {Accepted})",
                session.Step, update.Multiplier, update.Hypergradient, update.Accepted);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The loop saves a checkpoint and stops at its next check; the update is simply not made.
        }
        finally
        {
            foreach (var (inputs, targets) in training.Concat(validation))
            {
                inputs.Dispose();
                targets.Dispose();
            }
        }
    }
}
