using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
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
    /// (<see cref="ComparisonReport.Complete"/> false), so a caller can keep partial results on disk. With a
    /// <paramref name="store"/>, every finished run and every seed's dense model is kept there as soon as it exists, and
    /// the runs and dense models it already holds for the same settings are taken instead of run again (a seed whose
    /// methods are all finished trains nothing).
    /// </summary>
    /// <exception cref="ComparisonStoreException">A file of the store is damaged.</exception>
    public static ComparisonReport Run(ComparisonPlan plan, IReadOnlyDictionary<string, object> settings,
        IProgress<TrainingProgress>? progress = null, IProgress<ComparisonUpdate>? finished = null, ILogger? logger = null,
        CancellationToken cancellationToken = default, ComparisonStore? store = null)
    {
        logger ??= NullLogger.Instance;
        if (plan.Methods.Count == 0) throw new ArgumentException("no method to compare", nameof(plan));
        if (plan.Seeds.Count == 0) throw new ArgumentException("no seed", nameof(plan));
        foreach (var method in plan.Methods) (plan.OptionsFor(method) with { Seed = plan.Seeds[0] }).Validate();
        var clock = Stopwatch.StartNew();
        var runs = new List<ComparisonRun>();
        var shared = SharedIdentity(plan, settings);
        MetricKind? metric = null;
        foreach (var seed in plan.Seeds)
        {
            using var subject = plan.SubjectFor(seed);
            metric ??= subject.Task.Metric;
            var pending = new List<(string Method, PruningOptions Options, JsonObject Identity)>();
            foreach (var method in plan.Methods)
            {
                var options = plan.OptionsFor(method) with { Seed = seed, TestCurve = true };
                var identity = RunIdentity(shared, method, seed, plan.Dense with { Seed = seed }, options);
                if (store?.FinishedRun(identity) is { } kept)
                {
                    runs.Add(kept);
                    finished?.Report(new ComparisonUpdate(kept, Report(plan, metric, settings, runs, clock.Elapsed.TotalSeconds) with { Complete = false }, Kept: true));
                }
                else pending.Add((method, options, identity));
            }
            if (pending.Count == 0) continue;
            var denseIdentity = DenseIdentity(shared, plan, seed);
            manual_seed(seed);
            using var dense = subject.CreateModel();
            var denseTest = store?.LoadDense(denseIdentity, dense) ?? TrainDense(plan, subject, dense, seed, denseIdentity, store, progress, cancellationToken);
            foreach (var (method, options, identity) in pending)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var run = RunMethod(subject, dense, denseTest, method, seed, options, checkpoints: null, progress, logger, cancellationToken);
                store?.Save(identity, run);
                runs.Add(run);
                finished?.Report(new ComparisonUpdate(run, Report(plan, metric, settings, runs, clock.Elapsed.TotalSeconds) with { Complete = false }, Kept: false));
            }
        }
        // The report lists the runs as the plan does (seed by seed, methods in order), kept ones among the new.
        return Report(plan, metric!, settings, runs, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// One cell of a comparison split into independent runs (a sweep): trains the dense model of <paramref name="seed"/>
    /// exactly as <see cref="Run"/> would and keeps it in <paramref name="store"/>, or finds it kept there already.
    /// The runs of the same plan in other processes start from it (<see cref="RunMethodCell"/>).
    /// </summary>
    /// <returns>The dense model's test metric, and the metric's kind.</returns>
    /// <exception cref="ComparisonStoreException">The store's file is damaged.</exception>
    public static (double TestMetric, MetricKind Metric) TrainDenseCell(ComparisonPlan plan, IReadOnlyDictionary<string, object> settings, int seed,
        ComparisonStore store, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var identity = DenseIdentity(SharedIdentity(plan, settings), plan, seed);
        using var subject = plan.SubjectFor(seed);
        manual_seed(seed);
        using var dense = subject.CreateModel();
        var test = store.LoadDense(identity, dense) ?? TrainDense(plan, subject, dense, seed, identity, store, progress, cancellationToken);
        return (test, subject.Task.Metric);
    }

    /// <summary>
    /// One cell of a comparison split into independent runs (a sweep): runs <paramref name="method"/> on
    /// <paramref name="seed"/> from the dense model that <see cref="TrainDenseCell"/> kept in <paramref name="denseStore"/>,
    /// with the numbers <see cref="Run"/> gives for the same run at the same thread count. With a checkpoint directory the
    /// run is checkpointed there and, when <see cref="CheckpointOptions.ResumeFrom"/> is set, continues from it.
    /// </summary>
    /// <returns>The run (failed, not thrown, when it diverged beyond recovery) and the metric's kind.</returns>
    /// <exception cref="ComparisonStoreException">The store holds no dense model of these settings, or its file is damaged.</exception>
    /// <exception cref="TrainingInterruptedException">Cancelled; the run's checkpoint was written.</exception>
    public static (ComparisonRun Run, MetricKind Metric) RunMethodCell(ComparisonPlan plan, IReadOnlyDictionary<string, object> settings, string method,
        int seed, ComparisonStore denseStore, CheckpointOptions? checkpoints = null, IProgress<TrainingProgress>? progress = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        var options = plan.OptionsFor(method) with { Seed = seed, TestCurve = true };
        options.Validate();
        var identity = DenseIdentity(SharedIdentity(plan, settings), plan, seed);
        using var subject = plan.SubjectFor(seed);
        manual_seed(seed);
        using var dense = subject.CreateModel();
        var denseTest = denseStore.LoadDense(identity, dense)
            ?? throw new ComparisonStoreException(denseStore.Directory, $"holds no dense model of seed {seed} trained with these settings (TrainDenseCell keeps it there)");
        var run = RunMethod(subject, dense, denseTest, method, seed, options, checkpoints, progress, logger ?? NullLogger.Instance, cancellationToken);
        return (run, subject.Task.Metric);
    }

    /// <summary>
    /// The report of a comparison whose runs were made elsewhere (the cells of a sweep), in the form <see cref="Run"/> gives:
    /// per-method summaries, paired differences and the runs in method order within each seed.
    /// </summary>
    /// <param name="model">Architecture.</param>
    /// <param name="dataset">Data directory or corpus.</param>
    /// <param name="metric">The metric of every run.</param>
    /// <param name="methods">Method labels in report order.</param>
    /// <param name="seeds">Seeds.</param>
    /// <param name="settings">The shared settings and each method's own, by CLI name.</param>
    /// <param name="runs">The runs found (a subset of methods × seeds when <paramref name="complete"/> is false).</param>
    /// <param name="backend">The backend the runs used.</param>
    /// <param name="seconds">Wall-clock time from the first run's start to the last one's end.</param>
    /// <param name="complete">Whether every run of methods × seeds is there.</param>
    public static ComparisonReport Merge(string model, string dataset, MetricKind metric, IReadOnlyList<string> methods, IReadOnlyList<int> seeds,
        IReadOnlyDictionary<string, object> settings, IReadOnlyList<ComparisonRun> runs, BackendInfo? backend, double seconds, bool complete)
    {
        var ordered = seeds.SelectMany(seed => methods.SelectMany(method => runs.Where(r => r.Seed == seed && r.Method == method).Take(1))).ToList();
        return new ComparisonReport
        {
            ToolVersion = ToolInfo.Version,
            Backend = backend,
            Model = model,
            Dataset = dataset,
            Metric = metric,
            Methods = methods,
            Seeds = seeds,
            Settings = settings,
            Runs = ordered,
            Summaries = MethodStatistics.Summarize(methods, ordered),
            Paired = PairedAgainstBaselines(methods, ordered),
            SizeSummaries = SizeStatistics.Summarize(methods, ordered),
            SizePaired = SizeStatistics.Paired(methods, Baselines, ordered),
            SecondsTotal = seconds,
            Complete = complete,
        };
    }

    /// <summary>The baselines every method is paired with, where the comparison has them.</summary>
    public static IReadOnlyList<string> Baselines { get; } = ["none", "l2"];

    private static List<PairedDifference> PairedAgainstBaselines(IReadOnlyList<string> methods, IReadOnlyList<ComparisonRun> runs) =>
        Baselines.Where(methods.Contains)
            .SelectMany(baseline => methods.Where(m => m != baseline).Select(m => PairedDifference.OfTestMetric(m, baseline, runs)))
            .Where(d => d.Pairs > 0).ToList();

    /// <summary>
    /// What every run of the comparison shares and its outcome depends on: the model, the data, the threads, the tool's
    /// version and the caller's settings, except the seed list and the other methods' settings, which do not change a run.
    /// </summary>
    private static JsonObject SharedIdentity(ComparisonPlan plan, IReadOnlyDictionary<string, object> settings)
    {
        var recorded = JsonSerializer.SerializeToNode(settings, ReportJson.Options)!.AsObject();
        foreach (var key in recorded.Select(p => p.Key).Where(k => k == "seeds" || k.StartsWith("method.", StringComparison.Ordinal)).ToList())
            recorded.Remove(key);
        return new JsonObject
        {
            ["tool_version"] = ToolInfo.Version,
            ["model"] = plan.ModelName,
            ["dataset"] = plan.Dataset,
            ["threads"] = get_num_threads(),
            ["settings"] = recorded,
        };
    }

    private static JsonObject DenseIdentity(JsonObject shared, ComparisonPlan plan, int seed) =>
        RunIdentity(shared, label: null, seed, plan.Dense with { Seed = seed }, options: null);

    /// <summary>The identity of one run (or, without a label and options, of a seed's dense model) in a <see cref="ComparisonStore"/>.</summary>
    private static JsonObject RunIdentity(JsonObject shared, string? label, int seed, PruningOptions dense, PruningOptions? options)
    {
        var identity = new JsonObject();
        if (label is not null) identity["label"] = label;
        identity["seed"] = seed;
        foreach (var (key, value) in shared) identity[key] = value?.DeepClone();
        identity["dense"] = dense.Describe();
        if (options is not null) identity["options"] = options.Describe();
        return identity;
    }

    private static ComparisonRun RunMethod(IExperimentSubject subject, nn.Module<Tensor, Tensor> dense, double denseTest, string method, int seed,
        PruningOptions options, CheckpointOptions? checkpoints, IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        using var start = subject.CreateModel();
        CopyParameters(dense, start);
        var hyper = new Dictionary<string, object> { ["method"] = method, ["seed"] = seed };
        var clock = Stopwatch.StartNew();
        try
        {
            var result = Experiment.Run(subject, options, hyper, new StartingPoint(start, null), checkpoints, progress, logger, cancellationToken);
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
                Sizes = report.SizeResults,
                Cpu = report.Backend.Cpu,
                TestBleu = report.Translation?.Pruned.Score,
                Tuning = report.Tuning,
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
        IReadOnlyList<ComparisonRun> runs, double seconds) =>
        Merge(plan.ModelName, plan.Dataset, metric, plan.Methods, plan.Seeds, settings, runs,
            BackendInfo.From(TorchBackend.EnsureVerified(), get_num_threads()), seconds, complete: true);

    /// <summary>Trains the seed's dense model, <paramref name="model"/> as initialized right after the seed was set, and keeps it in the store; returns its test metric.</summary>
    private static double TrainDense(ComparisonPlan plan, IExperimentSubject subject, nn.Module<Tensor, Tensor> model, int seed, JsonObject identity,
        ComparisonStore? store, IProgress<TrainingProgress>? progress, CancellationToken token)
    {
        DenseTrainer.Train(model, subject.Task, plan.Dense with { Seed = seed }, progress, token);
        var test = subject.Task.Test(model).Metric;
        store?.SaveDense(identity, model, test);
        return test;
    }

    /// <summary>The seed's dense model into a method's fresh model: every method starts from the same weights.</summary>
    private static void CopyParameters(nn.Module<Tensor, Tensor> source, nn.Module<Tensor, Tensor> target)
    {
        using var _ = no_grad();
        var weights = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in target.named_parameters()) parameter.copy_(weights[name]);
    }
}
