using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>The pruned model of a <see cref="PruningRunner"/> run, its masks and its report.</summary>
/// <param name="Model">The model, left in the selected state (pruned weights are exact zeros).</param>
/// <param name="Masks">The masks by parameter name.</param>
/// <param name="Report">The same report as <c>topiary prune</c> writes.</param>
public sealed record PruningRunResult(nn.Module<Tensor, Tensor> Model, PruningMasks Masks, RunReport Report)
{
    /// <summary>Writes <c>report.json</c> and <c>report.md</c> into <paramref name="directory"/> (created if missing); returns their paths.</summary>
    public IReadOnlyList<string> WriteReport(string directory)
    {
        Directory.CreateDirectory(directory);
        var json = Path.Combine(directory, "report.json");
        var markdown = Path.Combine(directory, "report.md");
        ReportJson.Write(Report, json);
        ReportMarkdown.Write(Report, markdown);
        return [json, markdown];
    }
}

/// <summary>
/// Prunes a model for users without a training loop of their own: a model (normally trained dense), its data from any
/// source (<see cref="PruningData"/>), a loss and a validation metric with its direction give the pruned model and the
/// same report as the command line, with progress and cancellation, and checkpoints to resume from when asked.
/// <code>
/// var result = PruningRunner.Run(model, PruningData.From(train, validation, test),
///     new PruningRunSettings { Method = new RelevancePruning(), Bound = new MetricFloor(0.85) },
///     nn.functional.cross_entropy, ValidationMetric.Accuracy);
/// result.WriteReport("runs/mlp");
/// </code>
/// </summary>
public static class PruningRunner
{
    /// <summary>Runs the pruning phase of <paramref name="settings"/> on <paramref name="model"/>.</summary>
    /// <param name="model">The model; it is pruned in place and left in the selected state.</param>
    /// <param name="data">Training, validation and (optional) test batches.</param>
    /// <param name="settings">Method, bound, budget and optimizer.</param>
    /// <param name="loss">The training loss of (outputs, targets).</param>
    /// <param name="metric">How the model is scored on held-out batches.</param>
    /// <param name="name">The model's name in the report.</param>
    /// <param name="progress">Receives a report every 20 steps and at every evaluation.</param>
    /// <param name="logger">Receives the backend check's outcome and pruning events.</param>
    /// <param name="checkpoints">Where to checkpoint and what to resume from (null: in memory only).</param>
    /// <param name="cancellationToken">Stops the run after a checkpoint (<see cref="TrainingInterruptedException"/>).</param>
    /// <exception cref="Methods.PruningMethodException">A setting is out of range.</exception>
    public static PruningRunResult Run(nn.Module<Tensor, Tensor> model, PruningData data, PruningRunSettings settings,
        Func<Tensor, Tensor, Tensor> loss, ValidationMetric metric, string name = "model", IProgress<TrainingProgress>? progress = null,
        ILogger? logger = null, CheckpointOptions? checkpoints = null, CancellationToken cancellationToken = default)
    {
        logger ??= NullLogger.Instance;
        var backend = TorchBackend.EnsureVerified(logger);
        if (settings.Bound.HigherIsBetter != metric.HigherIsBetter)
            throw new Methods.PruningMethodException(nameof(PruningRunSettings), nameof(PruningRunSettings.Bound),
                $"its direction must match the metric's: {metric.Name} is better when {(metric.HigherIsBetter ? "higher" : "lower")}");
        var clock = Stopwatch.StartNew();
        var task = new DataTask(data, loss, metric);
        var resume = checkpoints?.ResumeFrom;
        var dense = resume is null ? DenseResult.Measure(task, model) : DenseResult.From(resume.State.Annotations, resume.Source);
        var loop = new PruningLoop(model, task, settings, logger)
        {
            Checkpoints = dense.CarriedBy(checkpoints),
        };
        var outcome = loop.Run(progress, cancellationToken);
        var dataset = new DatasetInfo(name, "", Samples(data.TrainEpoch(0)), Samples(data.Validation), data.Test is { } test ? Samples(test) : 0);
        var hyperparameters = new Dictionary<string, object>
        {
            ["method"] = settings.Method.Describe().ToJsonString(),
            ["bound"] = settings.Bound.Bound,
            ["epochs"] = settings.Epochs,
            ["eval_every"] = settings.EvaluationInterval,
            ["patience"] = settings.Patience,
            ["optimizer"] = loop.Session.Optimizer?.Kind ?? "none",
        };
        var report = RunReportBuilder.Build(name, dataset, settings.Method.Name, settings.Seed, hyperparameters, backend,
            dense.Validation, dense.Test, dense.TotalParameters, outcome, model, loop.Masks, [], clock.Elapsed.TotalSeconds, 0, task.Metric);
        return new PruningRunResult(model, loop.Masks, report);
    }

    private static int Samples(IEnumerable<(Tensor Inputs, Tensor Targets)> batches) => (int)batches.Sum(b => b.Inputs.shape[0]);
}
