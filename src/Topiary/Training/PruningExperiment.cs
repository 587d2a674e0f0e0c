using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Data;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>A model to start pruning from instead of training one, with the masks it already has (if any).</summary>
public sealed record StartingPoint(nn.Module<Tensor, Tensor> Model, IReadOnlyDictionary<string, Tensor>? Masks);

/// <summary>The trained, pruned model of an experiment, its masks and its report.</summary>
public sealed record ExperimentResult(string ModelName, nn.Module<Tensor, Tensor> Model, PruningMasks Masks, RunReport Report);

/// <summary>
/// One end-to-end run: verify the backend, build (or load) and train the dense model, prune it with
/// <see cref="PruningLoop"/>, select the final checkpoint and describe everything in a <see cref="RunReport"/>.
/// </summary>
public static class PruningExperiment
{
    /// <summary>
    /// Runs the experiment. <paramref name="startFrom"/>, when given, replaces dense training: a saved
    /// model and, if it was already pruned, its masks, which the pruning phase keeps.
    /// </summary>
    public static ExperimentResult Run(string modelName, ImageClassificationData data, PruningOptions options,
        IReadOnlyDictionary<string, object> hyperparameters, Func<StartingPoint>? startFrom = null,
        IProgress<TrainingProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default,
        CheckpointOptions? checkpoints = null)
    {
        logger ??= NullLogger.Instance;
        options.Validate();
        var backend = TorchBackend.EnsureVerified(logger);
        var total = Stopwatch.StartNew();

        manual_seed(options.Seed);
        var resume = checkpoints?.ResumeFrom;
        // A resumed run takes its model, masks and dense metrics from the checkpoint, not from training.
        var start = resume is null ? startFrom?.Invoke() : null;
        var model = start?.Model ?? ModelCatalog.Create(modelName, data.ImageSize, data.Classes);
        var task = new ImageClassificationTask(data);
        var denseTimes = startFrom is null && resume is null ? DenseTrainer.Train(model, task, options, progress, cancellationToken) : Array.Empty<double>();
        var denseSeconds = total.Elapsed.TotalSeconds;
        var dense = resume is null ? DenseResult.Measure(task, model) : DenseResult.From(resume.State.Annotations, resume.Source);
        var (denseVal, denseTest, totalParams) = (dense.Validation, dense.Test, dense.TotalParameters);
        logger.LogInformation("dense model: validation accuracy {Val}, test accuracy {Test}", Percent.Of(denseVal.Metric), Percent.Of(denseTest.Metric));

        var loop = new PruningLoop(model, task, options, logger, start?.Masks)
        {
            Checkpoints = dense.CarriedBy(checkpoints),
        };
        var outcome = loop.Run(progress, cancellationToken);
        using var example = data.TestImages.narrow(0, 0, 1);
        var report = RunReportBuilder.Build(modelName,
            new DatasetInfo(data.Name, data.Directory, data.TrainCount, (int)data.ValidationImages.shape[0], (int)data.TestImages.shape[0]),
            options.Method, options.Seed, hyperparameters, backend, denseVal, denseTest, totalParams, outcome, model, loop.Masks,
            denseTimes, total.Elapsed.TotalSeconds, denseSeconds, task.MetricName) with
        {
            Cost = CostMeter.Measure(model, example),
        };
        return new ExperimentResult(modelName, model, loop.Masks, report);
    }
}
