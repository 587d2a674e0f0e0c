using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Data;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Comparison;

/// <summary>What a comparison runs.</summary>
/// <param name="ModelName">Architecture from <see cref="ModelCatalog"/>.</param>
/// <param name="Methods">Method names (<see cref="PruningMethods.Names"/>).</param>
/// <param name="Seeds">Seeds; each gets its own split and dense model, shared by every method.</param>
/// <param name="Dense">Settings of the dense training (optimizer, epochs, batch size).</param>
/// <param name="OptionsFor">The pruning settings of a method (seed filled in by the runner).</param>
/// <param name="Subset">Use only the first N training images.</param>
public sealed record ComparisonPlan(string ModelName, IReadOnlyList<string> Methods, IReadOnlyList<int> Seeds,
    PruningOptions Dense, Func<string, PruningOptions> OptionsFor, int? Subset = null);

/// <summary>
/// Runs every method of a <see cref="ComparisonPlan"/> on every seed under the same conditions: per seed one
/// data split and one dense model trained once, from which every method starts (the same weights), with the
/// same epoch budget, floor and checkpoint selection; only the method's regularizer, schedule and its own
/// optimizer defaults differ.
/// </summary>
public static class ComparisonExperiment
{
    /// <summary>
    /// Runs the plan; <paramref name="finished"/> hears about each run as it ends, with the report so far
    /// (<see cref="ComparisonReport.Complete"/> false), so a caller can keep partial results on disk.
    /// </summary>
    public static ComparisonReport Run(IdxDataset dataset, ComparisonPlan plan, IReadOnlyDictionary<string, object> settings,
        IProgress<TrainingProgress>? progress = null, IProgress<(ComparisonRun Run, ComparisonReport SoFar)>? finished = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        logger ??= NullLogger.Instance;
        if (plan.Methods.Count == 0) throw new ArgumentException("no method to compare", nameof(plan));
        if (plan.Seeds.Count == 0) throw new ArgumentException("no seed", nameof(plan));
        foreach (var method in plan.Methods) (plan.OptionsFor(method) with { Seed = plan.Seeds[0] }).Validate();
        var clock = Stopwatch.StartNew();
        var runs = new List<ComparisonRun>();
        foreach (var seed in plan.Seeds)
        {
            using var data = ImageClassificationData.From(dataset, seed, plan.Subset);
            var dense = TrainDense(plan, data, seed, progress, cancellationToken);
            var denseTest = new ImageClassificationTask(data).Test(dense.Model);
            foreach (var method in plan.Methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var options = plan.OptionsFor(method) with { Seed = seed };
                var start = ModelCatalog.Create(plan.ModelName, data.ImageSize, data.Classes);
                dense.CopyInto(start);
                var hyper = new Dictionary<string, object> { ["method"] = method, ["seed"] = seed };
                var runClock = Stopwatch.StartNew();
                ComparisonRun run;
                try
                {
                    var result = PruningExperiment.Run(plan.ModelName, data, options, hyper, () => new Training.StartingPoint(start, null),
                        progress, logger, cancellationToken);
                    var final = result.Report.Final;
                    run = new ComparisonRun(method, seed, denseTest.Metric, final.ValAccuracy, final.TestAccuracy, final.RemainingFraction,
                        final.ValAccuracy >= options.Floor, runClock.Elapsed.TotalSeconds);
                    result.Masks.Dispose();
                }
                catch (TrainingDivergedException e)
                {
                    // One diverging method must not cost the whole comparison; the run is reported as failed.
                    logger.LogWarning("{Method} seed {Seed}: {Message}", method, seed, e.Message);
                    run = new ComparisonRun(method, seed, denseTest.Metric, double.NaN, double.NaN, double.NaN, false, runClock.Elapsed.TotalSeconds, e.Message);
                }
                start.Dispose();
                runs.Add(run);
                finished?.Report((run, Report(dataset, plan, settings, runs, clock.Elapsed.TotalSeconds) with { Complete = false }));
            }
            dense.Dispose();
        }
        return Report(dataset, plan, settings, runs, clock.Elapsed.TotalSeconds);
    }

    private static ComparisonReport Report(IdxDataset dataset, ComparisonPlan plan, IReadOnlyDictionary<string, object> settings,
        IReadOnlyList<ComparisonRun> runs, double seconds) => new()
    {
        ToolVersion = ToolInfo.Version,
        Model = plan.ModelName,
        Dataset = dataset.Directory,
        Methods = plan.Methods,
        Seeds = plan.Seeds,
        Settings = settings,
        Runs = runs.ToList(),
        Summaries = MethodStatistics.Summarize(plan.Methods, runs),
        SecondsTotal = seconds,
    };

    private static DenseStart TrainDense(ComparisonPlan plan, ImageClassificationData data, int seed, IProgress<TrainingProgress>? progress, CancellationToken token)
    {
        manual_seed(seed);
        var model = ModelCatalog.Create(plan.ModelName, data.ImageSize, data.Classes);
        DenseTrainer.Train(model, new ImageClassificationTask(data), plan.Dense with { Seed = seed }, progress, token);
        return new DenseStart(model);
    }

    /// <summary>The dense model of one seed, copied into each method's fresh model.</summary>
    private sealed class DenseStart(nn.Module<Tensor, Tensor> model) : IDisposable
    {
        public nn.Module<Tensor, Tensor> Model { get; } = model;

        public void CopyInto(nn.Module<Tensor, Tensor> target)
        {
            using var _ = no_grad();
            var source = Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, parameter) in target.named_parameters()) parameter.copy_(source[name]);
        }

        public void Dispose() => Model.Dispose();
    }
}
