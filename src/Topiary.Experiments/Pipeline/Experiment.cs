using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Methods;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// The one experiment pipeline, for every domain (<see cref="IExperimentSubject"/>): verify the backend, build the model
/// (or take a starting point), train it dense, resolve the validation bound (a floor, or a ceiling from the dense model
/// when lower is better), prune it with <see cref="PruningLoop"/> (checkpointed and resumable when asked), select the
/// final checkpoint, and describe everything in one <see cref="RunReport"/> with the cost of the pruned network, its
/// sparsity per part and the subject's own sections.
/// </summary>
public static class Experiment
{
    /// <summary>Runs the experiment on <paramref name="subject"/>.</summary>
    /// <param name="subject">The model and one seed's data.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="hyperparameters">The settings as the report records them.</param>
    /// <param name="start">A model (and its masks) that replaces dense training, or null.</param>
    /// <param name="checkpoints">Where to checkpoint and what to resume from (null: no checkpoints).</param>
    /// <param name="progress">Receives a report every 20 steps and at every evaluation.</param>
    /// <param name="logger">Receives the backend check's outcome and pruning events.</param>
    /// <param name="cancellationToken">Stops the run after a checkpoint (<see cref="TrainingInterruptedException"/>).</param>
    /// <exception cref="PruningOptionException">A setting is out of range, or the method does not apply to the subject.</exception>
    public static ExperimentResult Run(IExperimentSubject subject, PruningOptions options, IReadOnlyDictionary<string, object> hyperparameters,
        StartingPoint? start = null, CheckpointOptions? checkpoints = null, IProgress<TrainingProgress>? progress = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        logger ??= NullLogger.Instance;
        options.Validate();
        RequireSupported(subject.Architecture, subject.Methods, options);
        // Before the seed: a first self-check draws random tensors.
        var backend = TorchBackend.EnsureVerified(logger);
        var total = Stopwatch.StartNew();
        manual_seed(options.Seed);

        var task = subject.Task;
        var resume = checkpoints?.ResumeFrom;
        // A resumed run takes its model, masks and dense metrics from the checkpoint, not from training.
        if (resume is not null) start = null;
        var model = start?.Model ?? subject.CreateModel();
        var denseTimes = start is null && resume is null ? DenseTrainer.Train(model, task, options, progress, cancellationToken) : [];
        var denseSeconds = total.Elapsed.TotalSeconds;
        var dense = resume is null ? DenseResult.Measure(task, model) : DenseResult.From(resume.State.Annotations, resume.Source);
        logger.LogInformation("dense model: validation {Metric} {Val}, test {Metric} {Test}", task.Metric.Name,
            task.Metric.Format(dense.Validation.Metric), task.Metric.Name, task.Metric.Format(dense.Test.Metric));
        var observer = subject.Observe();
        if (resume is null) observer.Dense(model);

        if (!task.Metric.HigherIsBetter && double.IsPositiveInfinity(options.Ceiling))
            options = options with { Ceiling = Math.Max(1, dense.Validation.Metric * subject.CeilingRatio) };
        var loop = PruningMethods.Loop(model, task, options, logger, start?.Masks, dense.CarriedBy(checkpoints));
        var outcome = loop.Run(progress, cancellationToken);
        observer.Pruned(model);

        var recorded = new Dictionary<string, object>(hyperparameters);
        if (!task.Metric.HigherIsBetter) recorded["ceiling"] = options.Ceiling;
        var report = RunReportBuilder.Build(subject.Architecture, subject.Dataset, options.Method.Name, options.Seed, recorded, backend,
            dense.Validation, dense.Test, dense.TotalParameters, outcome, model, loop.Masks, denseTimes, total.Elapsed.TotalSeconds, denseSeconds,
            task.Metric);
        report = report with
        {
            Settings = options.Describe(),
            Cost = MeasureCost(model, task),
            LayerGroups = GroupSparsity.Summarize(report.Layers, subject.PartOf ?? ModelParts.ByLayerType(model)),
        };
        return new ExperimentResult(model, loop.Masks, observer.Complete(report), options);
    }

    /// <summary>Throws when <paramref name="method"/> is not one of the subject's methods.</summary>
    /// <exception cref="PruningOptionException">The method does not apply to the subject.</exception>
    public static void RequireSupported(IExperimentSubject subject, string method) => RequireSupported(subject.Architecture, subject.Methods, method);

    /// <summary>Throws when <paramref name="method"/> is not one of <paramref name="methods"/> (null: every method applies).</summary>
    /// <exception cref="PruningOptionException">The method does not apply to <paramref name="architecture"/>.</exception>
    public static void RequireSupported(string architecture, IReadOnlyList<string>? methods, string method)
    {
        if (methods is not null && !methods.Contains(method))
            throw new PruningOptionException(nameof(PruningOptions.Method), $"'{method}' does not apply to {architecture} (expected some of: {string.Join(", ", methods)})");
    }

    /// <summary>
    /// Throws when <paramref name="options"/> use what <paramref name="architecture"/> was not validated with: a method
    /// outside <paramref name="methods"/> and, for a subject that lists its methods (the Transformers), any of the
    /// catalogue's further regularizers (<see cref="PruningMethod.Extra"/>) or an optimizer other than Adam and SGD.
    /// Those were tuned and tested on the image models only; on attention they would run untested.
    /// </summary>
    /// <exception cref="PruningOptionException">The method, a further regularizer or the optimizer does not apply to <paramref name="architecture"/>.</exception>
    public static void RequireSupported(string architecture, IReadOnlyList<string>? methods, PruningOptions options)
    {
        RequireSupported(architecture, methods, options.Method.Name);
        if (methods is null) return;
        if (options.Method.Extra.Count > 0)
            throw new PruningOptionException(nameof(PruningMethod.Extra),
                $"the catalogue regularizers ('{options.Method.Extra[0].Name}') are not validated on the Transformer models ({architecture}); they run on the image models only");
        if (options.Optimizer is not (AdamOptions or SgdOptions))
            throw new PruningOptionException(nameof(PruningOptions.Optimizer),
                $"{options.Optimizer.Name} is not validated on the Transformer models ({architecture}); use adam or sgd");
    }

    // One training sample is enough: the cost depends on shapes and zeros, not on values.
    private static NetworkCost MeasureCost(nn.Module<Tensor, Tensor> model, ITrainingTask task)
    {
        using var scope = NewDisposeScope();
        var (inputs, _) = task.EpochBatches(seed: 0, epoch: 0, batchSize: 1).First();
        return CostMeter.Measure(model, inputs);
    }
}
