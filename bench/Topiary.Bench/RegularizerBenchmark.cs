using System.Diagnostics;
using System.Globalization;
using Topiary.Augmentation;
using Topiary.Backend;
using Topiary.Models;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Tuning;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Bench;

/// <summary>
/// Per-step cost of every catalogue regularizer (at its default strength) and optimizer against plain Adam, on
/// LeNet-5 and LeNet-300-100 at batch 100. All variants of a model are timed in one run, interleaved in rounds
/// so that machine noise hits them alike; the table gives medians and minima and their ratios to plain training.
/// On a loaded machine the minimum is the steadier estimate of a step's own cost (noise only ever adds time).
/// </summary>
internal static class RegularizerBenchmark
{
    private sealed record Variant(string Name, Func<GradientRegularizer> Regularizer, double Strength, string Optimizer = "adam")
    {
        /// <summary>A data-level regularizer applied to the batch inside the timed step, or null.</summary>
        public IBatchAugmentation? Augmentation { get; init; }
    }

    private static IReadOnlyList<Variant> Variants()
    {
        var list = new List<Variant>
        {
            new("plain Adam", () => new NoRegularization(), 0),
            new("relevance", () => new RelevanceWeightDecay(), 1e-3),
            new("l2", () => new L2WeightDecay(), 1e-3),
            new("l1", () => new L1ProximalDecay(), 1e-3),
        };
        list.AddRange(RegularizerLibrary.Entries.Where(e => e.Name != "orth").Select(e => new Variant(e.Name, e.CreateDefault, e.DefaultStrength)));
        // The options that change the work per step: GOR's across-groups term and FISTA's extrapolation.
        list.Add(new("gor:cross=1", () => RegularizerSpec.Parse("gor:1:cross=1")[0].Regularizer, 1e-4));
        list.Add(new("scad:fista", () => RegularizerSpec.Parse("scad:1:fista")[0].Regularizer, 1e-2));
        list.Add(new("spectral+so+flops (composite)", () => new CompositeRegularizer(RegularizerSpec.Parse("spectral:1e-3,so:1e-4,flops:1e-3")), 1));
        // The self-tuning network's training half runs on every step around the method's own regularizer (#62).
        list.Add(new("relevance+stn (tuned)", () => new SelfTuningTuner().Wrap(new RelevanceWeightDecay()), 1e-3));
        // A data-level regularizer: the batch's squares are drawn and filled inside the timed step (#69).
        list.Add(new("cutout (augmentation)", () => new NoRegularization(), 0) { Augmentation = new Cutout(14) });
        list.Add(new("muon (optimizer)", () => new NoRegularization(), 0, "muon"));
        list.Add(new("steepest (optimizer)", () => new NoRegularization(), 0, "steepest"));
        list.Add(new("scion (optimizer)", () => new NoRegularization(), 0, "scion"));
        list.Add(new("scion-constrained (optimizer)", () => new NoRegularization(), 0, "scion-constrained"));
        list.Add(new("scion-na (optimizer)", () => new NoRegularization(), 0, "scion-na"));
        list.Add(new("adam-spectral (optimizer)", () => new NoRegularization(), 0, "adam-spectral"));
        list.Add(new("fira (optimizer)", () => new NoRegularization(), 0, "fira"));
        list.Add(new("egn (optimizer)", () => new NoRegularization(), 0, "egn"));
        return list;
    }

    /// <param name="only">The variants to time beside plain Adam (their names as the table prints them), or null for all.</param>
    public static int Run(int rounds, int stepsPerRound, IReadOnlyList<string> models, IReadOnlyList<string>? only = null)
    {
        var names = Variants().Select(v => v.Name).Concat(TunerNames).ToList();
        if (only?.FirstOrDefault(name => !names.Contains(name)) is { } unknown)
        {
            Console.Error.WriteLine($"topiary-bench: error: --only: unknown variant '{unknown}' (available: {string.Join(", ", names)})");
            return 2;
        }
        var backend = TorchBackend.EnsureVerified();
        Console.WriteLine($"batch 100, Adam unless noted; libtorch {backend.TorchVersion}, oneDNN {(backend.OneDnnEnabled ? "on" : "off")}, {get_num_threads()} threads; {rounds} rounds × {stepsPerRound} steps per variant, interleaved");
        foreach (var modelName in models) RunModel(modelName, rounds, stepsPerRound, only);
        return 0;
    }

    private static void RunModel(string modelName, int rounds, int stepsPerRound, IReadOnlyList<string>? only)
    {
        var variants = Variants().Where((v, i) => i == 0 || only is null || only.Contains(v.Name)).ToList();
        var generator = new Generator(1);
        var images = randn(new long[] { 100, 1, 28, 28 }, generator: generator);
        var labels = randint(0, 10, new long[] { 100 }, generator: generator);
        var steps = variants.Select(v =>
        {
            manual_seed(1);
            var model = ModelCatalog.Create(modelName);
            var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
            // EGN's rate is the line search's largest step: its full step, as a run uses it.
            var optimizer = OptimizerOptions.Named(v.Optimizer, v.Optimizer switch { "adam" => 1e-3, "egn" => 1, _ => 1e-2 }).Create(model.parameters());
            var regularizer = v.Regularizer();
            // As in a later epoch, so that a regularizer following epochs (PS-KD's teacher pass) does its whole per-step work.
            regularizer.OnEpoch(model, 2, 2);
            return new RegularizedStep(model, optimizer, regularizer, model.parameters().ToList(), masks);
        }).ToArray();

        var samples = variants.Select(_ => new List<double>()).ToArray();
        for (var i = 0; i < variants.Count; i++)
            for (var w = 0; w < 3; w++) Step(steps[i], variants[i], images, labels, (ulong)w);    // warm-up
        var clock = new Stopwatch();
        for (var round = 0; round < rounds; round++)
            for (var i = 0; i < variants.Count; i++)
                for (var s = 0; s < stepsPerRound; s++)
                {
                    clock.Restart();
                    Step(steps[i], variants[i], images, labels, (ulong)s);
                    samples[i].Add(clock.Elapsed.TotalMilliseconds);
                }

        var plain = Topiary.Reporting.Statistics.Median(samples[0]);
        var plainMin = samples[0].Min();
        Console.WriteLine();
        Console.WriteLine($"{modelName}:");
        Console.WriteLine($"{"variant",-32} {"median ms",10} {"min ms",9} {"p10–p90",18} {"× plain (median)",17} {"× plain (min)",14}");
        for (var i = 0; i < variants.Count; i++)
        {
            var sorted = samples[i].OrderBy(v => v).ToArray();
            Console.WriteLine($"{variants[i].Name,-32} {F(Topiary.Reporting.Statistics.Median(samples[i])),10} {F(sorted[0]),9} {F(sorted[sorted.Length / 10]) + "–" + F(sorted[sorted.Length * 9 / 10]),18} {F(Topiary.Reporting.Statistics.Median(samples[i]) / plain) + "×",17} {F(sorted[0] / plainMin) + "×",14}");
        }
        foreach (var step in steps) step.Dispose();
        if (only is null || only.Any(name => TunerNames.Contains(name))) RunTunerUpdates(modelName, rounds, plain, only);
    }

    private static readonly string[] TunerNames = ["hoag", "bilevel", "stn"];

    // The cost of one update of each strength tuner as the loop makes it (4 training and 10 validation batches of 100,
    // relevance at γ = 1e-3, from a model trained a few steps), in plain Adam steps: it runs once per evaluation.
    private static void RunTunerUpdates(string modelName, int rounds, double plainStepMs, IReadOnlyList<string>? only)
    {
        var generator = new Generator(2);
        var batches = Enumerable.Range(0, 14).Select(_ => (randn(new long[] { 100, 1, 28, 28 }, generator: generator), randint(0, 10, new long[] { 100 }, generator: generator))).ToList();
        Console.WriteLine();
        Console.WriteLine($"{modelName}, strength tuner updates (4 training + 10 validation batches of 100, relevance γ = 1e-3), {rounds} updates each:");
        Console.WriteLine($"{"tuner",-32} {"median ms",10} {"min ms",9} {"Hv products",12} {"× plain step (median)",22}");
        foreach (var name in TunerNames.Where(n => only is null || only.Contains(n)))
        {
            manual_seed(1);
            var model = ModelCatalog.Create(modelName);
            var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
            var regularized = model.parameters().ToList();
            var tuner = StrengthTunings.Create(name).Create();
            var relevance = new RelevanceWeightDecay();
            var optimizer = OptimizerOptions.Named("adam", 1e-3).Create(model.parameters());
            using (var step = new RegularizedStep(model, optimizer, tuner.Wrap(relevance, regularized), regularized, masks))
                for (var s = 0; s < 5; s++) step.Run(batches[s].Item1, batches[s].Item2, 1e-3);
            var problem = new TuningProblem
            {
                Parameters = regularized, Regularized = regularized, Regularizer = relevance, ScheduledStrength = 1e-3, Masks = masks,
                TrainingBatches = 4, TrainingLoss = i => nn.functional.cross_entropy(model.forward(batches[i].Item1), batches[i].Item2),
                ValidationBatches = 10, ValidationLoss = i => nn.functional.cross_entropy(model.forward(batches[4 + i].Item1), batches[4 + i].Item2),
            };
            tuner.Update(problem);    // warm-up
            var times = new List<double>();
            var products = new List<int>();
            var clock = new Stopwatch();
            for (var r = 0; r < rounds; r++)
            {
                clock.Restart();
                products.Add(tuner.Update(problem).HessianProducts);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            var median = Topiary.Reporting.Statistics.Median(times);
            Console.WriteLine($"{name,-32} {F(median),10} {F(times.Min()),9} {Topiary.Reporting.Statistics.Median(products.Select(p => (double)p).ToList()),12:F0} {F(median / plainStepMs) + "×",22}");
            (tuner as IDisposable)?.Dispose();
        }
    }

    private static void Step(RegularizedStep step, Variant variant, Tensor images, Tensor labels, ulong seed)
    {
        if (variant.Augmentation is null)
        {
            step.Run(images, labels, variant.Strength);
            return;
        }
        using var augmented = variant.Augmentation.Apply(images, seed);
        step.Run(augmented, labels, variant.Strength);
    }

    private static string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
}
