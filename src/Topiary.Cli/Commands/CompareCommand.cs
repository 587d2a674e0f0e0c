using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Plots;
using Topiary.Comparison;
using Topiary.Data;
using Topiary.Experiments;
using Topiary.Models;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary compare</c>: several pruning methods × seeds on the same model, data, dense starting points
/// and budget; writes comparison.json, comparison.md and comparison.png. Image models here,
/// <c>--model transformer-lm</c> in <see cref="LanguageCompareCommand"/>; both share <see cref="CompareRun"/>.
/// </summary>
internal static class CompareCommand
{
    /// <summary>All methods, flagship first.</summary>
    public const string DefaultMethods = "relevance,l2,l1,none,lobster,gmp,hypersparse";

    /// <summary>
    /// The budget of a comparison with no flags: LeNet-300-100 on Fashion-MNIST, 3 seeds × 7 methods, one dense model
    /// per seed shared by the methods; measured at about 15 minutes on 2 idle cores, within the 30 we allow. Twelve
    /// pruning epochs let the iterative methods prune until the floor stops them (with six, they cropped at every
    /// evaluation and the evaluation count decided how far they got). The floor suits LeNet-300-100, whose dense
    /// test accuracy after 3 epochs is about 87%; gmp and hypersparse aim at 98% sparsity.
    /// </summary>
    public static PruningOptions Defaults { get; } = new()
    {
        DenseEpochs = 3, Epochs = 12, Floor = 0.87, TargetSparsity = 0.98, Patience = 25,
    };

    public const string Help = """
        topiary compare [options]   several pruning methods × seeds under the same conditions

          --methods LIST              comma-separated methods (default relevance,l2,l1,none,lobster,gmp,hypersparse);
                                      METHOD+REG+REG… adds regularizers to a method, e.g. none+spectral:1e-3+so:1e-4
          --seeds N                   seeds per method: S, S+1, … (default 3)
          --seed S                    first seed (default 1234)
          --model lenet5|lenet300     architecture (default lenet300); transformer-lm, transformer-mt: see topiary compare --model NAME --help
          --data DIR                  IDX data set (default /usr/share/datasets/fashion-mnist)
          --subset N                  use only the first N training images
          --out DIR                   output folder (default runs/compare-<timestamp>)
          --threads N                 libtorch threads (default: all cores)
          and every setting of 'topiary prune' (--epochs, --dense-epochs, --floor, --eval-every, --gamma, --target-sparsity, …),
          applied to every method over its own defaults (defaults here: --dense-epochs 3 --epochs 12 --floor 0.87
          --target-sparsity 0.98); each seed trains one dense model that every method starts from.
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        if (args.String("model") == TransformerLanguageModel.ArchitectureName) return LanguageCompareCommand.Run(args, logger, cancellationToken);
        if (args.String("model") == TransformerTranslationModel.ArchitectureName) return TranslationCompareCommand.Run(args, logger, cancellationToken);
        var common = CompareRun.Read(args, DefaultMethods, PruningMethods.Names, Defaults.Seed);
        var modelName = args.Choice("model", "lenet300", ModelCatalog.Names.ToArray());
        var dataDirectory = args.String("data", PruneCommand.DefaultDataDirectory);
        // Every method's options: its own defaults over the comparison's, then the user's flags over both.
        var perMethod = common.Methods.ToDictionary(m => m, m => MethodLabel.Apply(m, PruneCommand.ReadOptionsOver(args, PruningMethods.Defaults(MethodLabel.Split(m).Method, Defaults))));
        var dense = PruneCommand.ReadOptionsOver(args, Defaults);
        args.RejectUnknown("compare");
        foreach (var options in perMethod.Values) options.Validate();
        if (common.Subset is < 20) throw new CliUsageException($"--subset: must be at least 20, got {common.Subset}");

        TorchBackend.SetThreads(common.Threads);
        var dataset = IdxReader.LoadDataset(dataDirectory);
        if (common.Subset > dataset.Train.Images.Count)
            throw new CliUsageException($"--subset: {common.Subset} is more than the {dataset.Train.Images.Count} training images in {dataDirectory}");
        var settings = common.Settings(dense, perMethod, modelName);
        settings["floor"] = dense.Floor;
        var plan = new ComparisonPlan(modelName, dataset.Directory, common.Methods, common.Seeds, dense, m => perMethod[m],
            seed => ImageSubject.ForSeed(modelName, dataset, seed, common.Subset));
        return common.Execute(plan, settings, $"{modelName} on {dataDirectory}", logger, cancellationToken);
    }
}

/// <summary>
/// What every comparison shares, whatever the model: the methods, seeds, output folder and threads, the
/// recorded settings, and running the plan with one line per finished run and the three files.
/// </summary>
internal sealed record CompareRun(IReadOnlyList<string> Methods, IReadOnlyList<int> Seeds, int? Subset, string OutDirectory, int Threads)
{
    /// <summary>Reads the shared flags; <paramref name="allowed"/> are the methods the model can run.</summary>
    public static CompareRun Read(ArgumentReader args, string defaultMethods, IReadOnlyList<string> allowed, int defaultSeed, int defaultSeeds = 3,
        Action<string>? requireApplies = null)
    {
        var methods = args.String("methods", defaultMethods).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (methods.Count == 0) throw new CliUsageException("--methods: at least one method is required");
        var unknown = methods.FirstOrDefault(m => !PruningMethods.Names.Contains(MethodLabel.Split(m).Method));
        if (unknown is not null)
            throw new CliUsageException($"--methods: unknown method '{MethodLabel.Split(unknown).Method}' (expected some of: {string.Join(", ", allowed)}, each optionally followed by +regularizer terms)");
        foreach (var method in methods)
        {
            try
            {
                requireApplies?.Invoke(MethodLabel.Split(method).Method);
            }
            catch (PruningOptionException e)
            {
                throw new CliUsageException($"--methods: {e.Reason}");
            }
            MethodLabel.Validate(method);
        }
        if (methods.Distinct().Count() != methods.Count) throw new CliUsageException("--methods: a method is listed twice");
        if (args.Has("method")) throw new CliUsageException("--method: compare takes --methods (a comma-separated list)");
        var seedCount = args.Int("seeds", defaultSeeds);
        if (seedCount < 1) throw new CliUsageException($"--seeds: must be at least 1, got {seedCount}");
        var firstSeed = args.Int("seed", defaultSeed);
        var subset = args.Has("subset") ? args.Int("subset", 0) : (int?)null;
        var (outDirectory, threads) = RunFlags.Read(args, "compare-");
        return new CompareRun(methods, Enumerable.Range(firstSeed, seedCount).ToList(), subset, outDirectory, threads);
    }

    /// <summary>The settings every comparison records: model, seeds, budget, and each method's own options.</summary>
    public Dictionary<string, object> Settings(PruningOptions dense, IReadOnlyDictionary<string, PruningOptions> perMethod, string model)
    {
        var inv = CultureInfo.InvariantCulture;
        var settings = new Dictionary<string, object>
        {
            ["model"] = model,
            ["seeds"] = string.Join(",", Seeds),
            ["subset"] = Subset is { } s ? s : "none",
            ["threads"] = Threads,
            ["dense_epochs"] = dense.DenseEpochs,
            ["dense_optimizer"] = $"{dense.Optimizer} lr {dense.LearningRate.ToString(inv)}",
            ["epochs"] = dense.Epochs,
            ["batch_size"] = dense.BatchSize,
            ["eval_every"] = dense.EvalEvery,
            ["patience"] = dense.Patience,
        };
        foreach (var (method, o) in perMethod)
            settings[$"method.{method}"] = string.Create(inv,
                $"method {o.Method}; reg {o.Regularizers ?? "none"}; optimizer {o.Optimizer} lr {o.LearningRate} momentum {o.Momentum}; gamma {o.Gamma} (decay {(o.GammaDecay ? "on" : "off")}), alpha {o.Alpha}; crop {o.CropFraction}; target sparsity {o.TargetSparsity}; twt {o.Twt}, pwe {o.Pwe}; growth {o.Growth}; patience {o.Patience}; scope {o.PrunedScope}");
        return settings;
    }

    /// <summary>Runs the plan, printing a line per finished run and keeping the JSON and Markdown on disk after each; then writes all three files.</summary>
    public int Execute(ComparisonPlan plan, Dictionary<string, object> settings, string subject, ILogger logger, CancellationToken cancellationToken)
    {
        var backend = TorchBackend.EnsureVerified(logger);
        System.Console.WriteLine($"topiary {ToolInfo.Version} compare: {subject}, methods {string.Join(", ", Methods)}, seeds {string.Join(", ", Seeds)}");
        System.Console.WriteLine(BackendSummary.Line(backend, Threads));
        var total = Methods.Count * Seeds.Count;
        var done = 0;
        var finished = new SynchronousProgress<(ComparisonRun Run, ComparisonReport SoFar)>(update =>
        {
            var (run, metric) = (update.Run, update.SoFar.Metric);
            System.Console.WriteLine($"[{++done}/{total}] {run.Method,-11} seed {run.Seed}: test {metric.Name} {metric.Format(run.TestMetric)}, remaining {Summary.Percent(run.RemainingFraction)}{(run.MetBound ? "" : " (bound not met)")}, {run.Seconds:F0} s");
            // Keep what is done on disk, so an interrupted comparison still leaves its finished runs.
            Directory.CreateDirectory(OutDirectory);
            ComparisonJson.Write(update.SoFar, Path.Combine(OutDirectory, "comparison.json"));
            ComparisonMarkdown.Write(update.SoFar, Path.Combine(OutDirectory, "comparison.md"));
        });
        var report = ComparisonExperiment.Run(plan, settings, new QuietProgress(), finished, logger, cancellationToken);

        Directory.CreateDirectory(OutDirectory);
        var files = new[] { "comparison.json", "comparison.md", "comparison.png" }.Select(f => Path.Combine(OutDirectory, f)).ToArray();
        ComparisonJson.Write(report, files[0]);
        ComparisonMarkdown.Write(report, files[1]);
        ComparisonPlot.Write(report, files[2]);
        System.Console.WriteLine();
        System.Console.WriteLine(ComparisonMarkdown.SummaryTable(report));
        if (ComparisonMarkdown.MatchedTable(report) is { } matched)
        {
            System.Console.WriteLine($"test {report.Metric.Name} at equal size (seed means, from the test trajectories):");
            System.Console.WriteLine(matched);
        }
        System.Console.WriteLine($"time: {report.SecondsTotal:F0} s");
        System.Console.WriteLine($"wrote {OutDirectory}/: {string.Join(", ", files.Select(Path.GetFileName))}");
        return 0;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Per-step progress is dropped: a comparison prints one line per finished run.</summary>
    private sealed class QuietProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { }
    }
}
