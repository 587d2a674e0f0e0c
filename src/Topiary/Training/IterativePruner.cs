using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Data;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// The training loop of Bonetta et al. (arXiv 2204.04977), rebuilt from the authors' code: train with
/// a regularizer whose strength γ decays after each crop; every E batches evaluate on the validation
/// split; when accuracy is above the floor B, prune the fraction t of the remaining weights with the
/// smallest magnitude (globally) and restart γ. The result is the checkpoint with the fewest remaining
/// parameters whose validation accuracy is ≥ B.
/// </summary>
public sealed class IterativePruner
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly ImageClassificationData data;
    private readonly PruningOptions options;
    private readonly ILogger logger;

    /// <summary>Prepares a run over <paramref name="model"/>, which should already be trained dense.</summary>
    /// <param name="model">The model to prune.</param>
    /// <param name="data">Training, validation and test data.</param>
    /// <param name="options">Settings of the run.</param>
    /// <param name="logger">Receives a debug line per crop.</param>
    /// <param name="initialMasks">Masks to continue from (e.g. those of a saved, already pruned model).</param>
    public IterativePruner(nn.Module<Tensor, Tensor> model, ImageClassificationData data, PruningOptions options, ILogger? logger = null,
        IReadOnlyDictionary<string, Tensor>? initialMasks = null)
    {
        options.Validate();
        this.model = model;
        this.data = data;
        this.options = options;
        this.logger = logger ?? NullLogger.Instance;
        Masks = new PruningMasks(ParameterSelector.Select(model, options.PrunedScope));
        if (initialMasks is not null) Masks.RestoreMatching(initialMasks);
    }

    /// <summary>The masks of the prunable parameters (all ones until the first crop).</summary>
    public PruningMasks Masks { get; }

    /// <summary>Runs the pruning phase and leaves the model in the selected checkpoint's state.</summary>
    public PruningOutcome Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var schedule = new IterativePruningSchedule(options.CropFraction, options.Floor);
        var regularizer = options.BuildRegularizer();
        var regularized = ParameterSelector.Select(model, options.RegularizedScope).Select(p => p.Parameter).ToList();
        var stepsPerEpoch = data.StepsPerEpoch(options.BatchSize);
        var gamma = new GammaSchedule(options.Gamma, options.GammaDecay, stepsPerEpoch);
        using var optimizer = OptimizerFactory.Create(options, model.parameters());
        using var step = new RegularizedStep(model, optimizer, regularizer, regularized, Masks);

        var trajectory = new List<TrajectoryPoint>();
        var times = new List<double>();
        var recentLoss = new RunningMean();
        var clock = new Stopwatch();
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        long stepCount = 0;
        var evalsWithoutProgress = 0;
        double? lastAccuracy = null;
        ModelSnapshot? best = null;
        var bestStep = 0L;
        var bestRemaining = double.PositiveInfinity;
        var bestValidation = new EvaluationResult(double.NegativeInfinity, double.PositiveInfinity);
        var bestMeetsFloor = false;
        var stopReason = $"epoch budget of {options.Epochs} reached";

        // Evaluates, records the point, updates the selection and prunes when the floor allows.
        bool EvaluateAndMaybePrune(double trainLoss)
        {
            var validation = Evaluation.Classify(model, data.ValidationImages, data.ValidationLabels);
            var remaining = Masks.Density;
            lastAccuracy = validation.Accuracy;
            var meetsFloor = schedule.MeetsFloor(validation.Accuracy);
            var better = meetsFloor
                ? !bestMeetsFloor || remaining < bestRemaining || (remaining == bestRemaining && validation.Accuracy > bestValidation.Accuracy)
                : !bestMeetsFloor && validation.Accuracy > bestValidation.Accuracy;
            if (better)
            {
                best?.Dispose();
                best = new ModelSnapshot(model, Masks);
                bestStep = stepCount;
                bestRemaining = remaining;
                bestValidation = validation;
                bestMeetsFloor = meetsFloor;
                evalsWithoutProgress = 0;
            }
            else
            {
                evalsWithoutProgress++;
            }

            var prune = schedule.ShouldPrune(validation.Accuracy);
            trajectory.Add(new TrajectoryPoint(stepCount, (double)stepCount / stepsPerEpoch, remaining, validation.Accuracy,
                validation.Loss, trainLoss, gamma.Current, prune));
            if (prune)
            {
                var removed = GlobalMagnitudePruner.PruneFraction(Masks, schedule.CropFraction);
                foreach (var entry in Masks.Entries) optimizer.MaskState(entry.Parameter, entry.Mask);
                gamma.Reset();
                logger.LogDebug("step {Step}: validation accuracy {Accuracy:P2} > floor, pruned {Removed} parameters, {Remaining:P2} remain",
                    stepCount, validation.Accuracy, removed, Masks.Density);
            }
            return evalsWithoutProgress >= options.Patience;
        }

        model.train();
        var stop = EvaluateAndMaybePrune(double.NaN);
        for (var epoch = 0; epoch < options.Epochs && !stop; epoch++)
        {
            foreach (var batch in data.EpochBatches(options.Seed, epoch, options.BatchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                double loss;
                using (NewDisposeScope())
                {
                    clock.Restart();
                    loss = step.Run(data.TrainImages.index_select(0, batch), data.TrainLabels.index_select(0, batch), gamma.Current);
                    times.Add(clock.Elapsed.TotalMilliseconds);
                }
                gamma.Advance();
                stepCount++;
                recentLoss.Add(loss);
                if (!double.IsFinite(loss))
                    throw new TrainingDivergedException(stepCount, loss);

                if (stepCount % options.EvalEvery == 0)
                {
                    var trainLoss = recentLoss.Take();
                    stop = EvaluateAndMaybePrune(trainLoss);
                    progress?.Report(new TrainingProgress("prune", epoch + 1, options.Epochs, stepCount, totalSteps, trainLoss, lastAccuracy, Masks.Density, gamma.Current));
                    if (stop)
                    {
                        stopReason = $"no new smallest model at or above the floor in {options.Patience} evaluations (patience)";
                        break;
                    }
                }
                else if (stepCount % 20 == 0)
                {
                    progress?.Report(new TrainingProgress("prune", epoch + 1, options.Epochs, stepCount, totalSteps, recentLoss.Take(), lastAccuracy, Masks.Density, gamma.Current));
                }
            }
        }

        best!.RestoreInto(model, Masks);
        best.Dispose();
        var selection = bestMeetsFloor
            ? $"the checkpoint with the fewest remaining parameters ({Percent.Of(bestRemaining)}) whose validation accuracy ({Percent.Of(bestValidation.Accuracy)}) is at least the floor {Percent.Of(options.Floor)}, at step {bestStep}"
            : $"no checkpoint reached the floor {Percent.Of(options.Floor)}; the one with the best validation accuracy ({Percent.Of(bestValidation.Accuracy)}, {Percent.Of(bestRemaining)} remaining, step {bestStep}) is reported";
        return new PruningOutcome(trajectory, bestStep, bestValidation, bestRemaining, selection, stopReason, times);
    }
}

/// <summary>The training loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException(long step, double loss)
    : Exception($"training diverged at step {step}: the loss is {loss}; lower --lr or --gamma")
{
    /// <summary>The step at which the loss stopped being finite.</summary>
    public long Step { get; } = step;
}
