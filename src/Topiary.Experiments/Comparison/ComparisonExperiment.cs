using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Experiments;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Comparison;

/// <summary>What a comparison runs.</summary>
/// <param name="ModelName">Architecture, for the report.</param>
/// <param name="Dataset">Data directory or corpus, for the report.</param>
/// <param name="Methods">Method names (<see cref="PruningMethods.Names"/>).</param>
/// <param name="Seeds">Seeds; each gets its own split and dense model, shared by every method.</param>
/// <param name="Dense">Settings of the dense training (optimizer, epochs, batch size).</param>
/// <param name="OptionsFor">The pruning settings of a method (seed filled in by the runner).</param>
/// <param name="SubjectFor">The data and model of a seed (<see cref="ImageSubject"/>, <see cref="LanguageModelSubject"/>, <see cref="TranslationSubject"/>).</param>
public sealed record ComparisonPlan(string ModelName, string Dataset, IReadOnlyList<string> Methods, IReadOnlyList<int> Seeds,
    PruningOptions Dense, Func<string, PruningOptions> OptionsFor, Func<int, IExperimentSubject> SubjectFor);

/// <summary>
/// Runs every method of a <see cref="ComparisonPlan"/> on every seed under the same conditions: per seed one
/// data split and one dense model trained once, from which every method starts (the same weights), with the
/// same epoch budget, bound and checkpoint selection; only the method's regularizer, schedule and its own
/// optimizer defaults differ. The task of the subject decides the metric (accuracy, perplexity).
/// </summary>
public static class ComparisonExperiment
{
    /// <summary>
    /// Runs the plan; <paramref name="finished"/> hears about each run as it ends, with the report so far
    /// (<see cref="ComparisonReport.Complete"/> false), so a caller can keep partial results on disk.
    /// </summary>
    public static ComparisonReport Run(ComparisonPlan plan, IReadOnlyDictionary<string, object> settings,
        IProgress<TrainingProgress>? progress = null, IProgress<(ComparisonRun Run, ComparisonReport SoFar)>? finished = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        logger ??= NullLogger.Instance;
        if (plan.Methods.Count == 0) throw new ArgumentException("no method to compare", nameof(plan));
        if (plan.Seeds.Count == 0) throw new ArgumentException("no seed", nameof(plan));
        foreach (var method in plan.Methods) (plan.OptionsFor(method) with { Seed = plan.Seeds[0] }).Validate();
        var clock = Stopwatch.StartNew();
        var runs = new List<ComparisonRun>();
        MetricKind? metric = null;
        foreach (var seed in plan.Seeds)
        {
            using var subject = plan.SubjectFor(seed);
            metric ??= subject.Task.Metric;
            using var dense = TrainDense(plan, subject, seed, progress, cancellationToken);
            var denseTest = subject.Task.Test(dense).Metric;
            foreach (var method in plan.Methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var run = RunMethod(subject, dense, denseTest, method, seed, plan.OptionsFor(method) with { Seed = seed, TestCurve = true }, progress, logger, cancellationToken);
                runs.Add(run);
                finished?.Report((run, Report(plan, metric, settings, runs, clock.Elapsed.TotalSeconds) with { Complete = false }));
            }
        }
        return Report(plan, metric!, settings, runs, clock.Elapsed.TotalSeconds);
    }

    private static ComparisonRun RunMethod(IExperimentSubject subject, nn.Module<Tensor, Tensor> dense, double denseTest, string method, int seed,
        PruningOptions options, IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        using var start = subject.CreateModel();
        CopyParameters(dense, start);
        var hyper = new Dictionary<string, object> { ["method"] = method, ["seed"] = seed };
        var clock = Stopwatch.StartNew();
        try
        {
            var result = Experiment.Run(subject, options, hyper, new StartingPoint(start, null), progress: progress, logger: logger,
                cancellationToken: cancellationToken);
            // The run's masks are not needed beyond its report.
            result.Masks.Dispose();
            var (report, bound) = (result.Report, result.Options.BoundFor(subject.Task.Metric.HigherIsBetter));
            var final = report.Final;
            var met = new MetricFloor(bound, subject.Task.Metric.HigherIsBetter).IsMetBy(final.Validation);
            return new ComparisonRun(method, seed, denseTest, final.Validation, final.Test, final.RemainingFraction, bound, met,
                clock.Elapsed.TotalSeconds)
            {
                TestTrajectory = report.TestTrajectory,
                TestTrajectorySeconds = report.Timing.TestTrajectorySeconds,
                TestBleu = report.Translation?.Pruned.Score,
            };
        }
        catch (DivergenceLimitException e)
        {
            // One diverging method must not cost the whole comparison; the run is reported as failed.
            // (The loop recovers from single divergences itself and gives up with DivergenceLimitException.)
            logger.LogWarning("{Method} seed {Seed}: {Message}", method, seed, e.Message);
            return new ComparisonRun(method, seed, denseTest, double.NaN, double.NaN, double.NaN, double.NaN, false, clock.Elapsed.TotalSeconds, e.Message);
        }
    }

    private static ComparisonReport Report(ComparisonPlan plan, MetricKind metric, IReadOnlyDictionary<string, object> settings,
        IReadOnlyList<ComparisonRun> runs, double seconds) => new()
    {
        ToolVersion = ToolInfo.Version,
        Backend = BackendInfo.From(TorchBackend.EnsureVerified(), get_num_threads()),
        Model = plan.ModelName,
        Dataset = plan.Dataset,
        Metric = metric,
        Methods = plan.Methods,
        Seeds = plan.Seeds,
        Settings = settings,
        Runs = runs.ToList(),
        Summaries = MethodStatistics.Summarize(plan.Methods, runs),
        SecondsTotal = seconds,
    };

    private static nn.Module<Tensor, Tensor> TrainDense(ComparisonPlan plan, IExperimentSubject subject, int seed, IProgress<TrainingProgress>? progress, CancellationToken token)
    {
        manual_seed(seed);
        var model = subject.CreateModel();
        DenseTrainer.Train(model, subject.Task, plan.Dense with { Seed = seed }, progress, token);
        return model;
    }

    /// <summary>The seed's dense model into a method's fresh model: every method starts from the same weights.</summary>
    private static void CopyParameters(nn.Module<Tensor, Tensor> source, nn.Module<Tensor, Tensor> target)
    {
        using var _ = no_grad();
        var weights = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in target.named_parameters()) parameter.copy_(weights[name]);
    }
}
