using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Models;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Language;

/// <summary>
/// The experiment both Transformers share (<see cref="LanguageModelExperiment"/>, <see cref="TranslationExperiment"/>):
/// train dense unless a start is given, resolve the perplexity ceiling from the dense model, run the
/// <see cref="PruningLoop"/>, and describe it in a <see cref="RunReport"/> with sparsity per part of the model.
/// What only one of them reports (samples, BLEU) its caller adds to the report afterwards, from the two
/// moments its <c>atModel</c> callback is called: <c>dense</c> after dense training, <c>pruned</c> after the loop.
/// </summary>
internal static class SequenceExperiment
{
    public static (ExperimentResult Experiment, PruningOptions Options) Run(
        nn.Module<Tensor, Tensor> model, ITrainingTask task, StartingPoint? start, PruningOptions options, double ceilingRatio,
        IReadOnlyDictionary<string, object> hyperparameters, string architecture, DatasetInfo dataset, Func<string, string> groupOf,
        Action<string>? atModel, IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        var backend = TorchBackend.EnsureVerified(logger);
        var total = Stopwatch.StartNew();
        var denseTimes = start is null ? DenseTrainer.Train(model, task, options, progress, cancellationToken) : Array.Empty<double>();
        var denseSeconds = total.Elapsed.TotalSeconds;
        var denseVal = task.Validate(model);
        var denseTest = task.Test(model);
        var totalParams = ModelCatalog.CountParameters(model);
        logger.LogInformation("dense model: validation perplexity {Val:F3}, test perplexity {Test:F3}", denseVal.Metric, denseTest.Metric);
        atModel?.Invoke("dense");

        if (double.IsPositiveInfinity(options.Ceiling)) options = options with { Ceiling = Math.Max(1, denseVal.Metric * ceilingRatio) };
        var loop = new PruningLoop(model, task, options, logger, start?.Masks);
        var outcome = loop.Run(progress, cancellationToken);
        atModel?.Invoke("pruned");
        var report = RunReportBuilder.Build(architecture, dataset, options.Method, options.Seed,
            new Dictionary<string, object>(hyperparameters) { ["ceiling"] = options.Ceiling }, backend, denseVal, denseTest, totalParams,
            outcome, model, loop.Masks, denseTimes, total.Elapsed.TotalSeconds, denseSeconds, task.MetricName);
        report = report with { LayerGroups = GroupSparsity.Summarize(report.Layers, groupOf) };
        return (new ExperimentResult(architecture, model, loop.Masks, report), options);
    }
}
