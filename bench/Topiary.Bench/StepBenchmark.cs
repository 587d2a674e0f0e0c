using System.Diagnostics;
using System.Globalization;
using Topiary.Backend;
using Topiary.Models;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Times one training step of LeNet-5 at batch 100 in three variants, interleaved in rounds so
/// that machine noise hits all of them alike: plain Adam, relevance decay fused into one backward
/// pass (Topiary), and relevance decay with the authors' two backward passes.
/// </summary>
internal static class StepBenchmark
{
    private sealed record Variant(string Name, Func<RegularizedStep, Tensor, Tensor, double> Step, GradientRegularizer Regularizer, double Gamma);

    public static int Run(int rounds, int stepsPerRound)
    {
        var backend = TorchBackend.EnsureVerified();
        Console.WriteLine($"LeNet-5, batch 100, Adam; libtorch {backend.TorchVersion}, oneDNN {(backend.OneDnnEnabled ? "on" : "off")}, {get_num_threads()} threads; {rounds} rounds × {stepsPerRound} steps per variant");
        var variants = new[]
        {
            new Variant("plain Adam", (s, x, y) => s.Run(x, y, 0), new NoRegularization(), 0),
            new Variant("relevance, fused (1 backward)", (s, x, y) => s.Run(x, y, 1e-3), new RelevanceWeightDecay(), 1e-3),
            new Variant("relevance, two backward passes", (s, x, y) => s.RunTwoPass(x, y, 1e-3), new RelevanceWeightDecay(), 1e-3),
        };
        var generator = new Generator(1);
        var images = randn(new long[] { 100, 1, 28, 28 }, generator: generator);
        var labels = randint(0, 10, new long[] { 100 }, generator: generator);
        var steps = variants.Select(v =>
        {
            manual_seed(1);
            var model = new LeNet5();
            var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
            var optimizer = new AdamOptimizer(model.parameters());
            return new RegularizedStep(model, optimizer, v.Regularizer, model.parameters().ToList(), masks);
        }).ToArray();

        var samples = variants.Select(_ => new List<double>()).ToArray();
        for (var i = 0; i < variants.Length; i++)
            for (var w = 0; w < 10; w++) variants[i].Step(steps[i], images, labels);    // warm-up
        var clock = new Stopwatch();
        for (var round = 0; round < rounds; round++)
            for (var i = 0; i < variants.Length; i++)
                for (var s = 0; s < stepsPerRound; s++)
                {
                    clock.Restart();
                    variants[i].Step(steps[i], images, labels);
                    samples[i].Add(clock.Elapsed.TotalMilliseconds);
                }

        var plain = Topiary.Reporting.Statistics.Median(samples[0]);
        Console.WriteLine();
        Console.WriteLine($"{"variant",-34} {"ms/step (median)",18} {"p10–p90",16} {"× plain",9}");
        for (var i = 0; i < variants.Length; i++)
        {
            var sorted = samples[i].OrderBy(v => v).ToArray();
            var median = Topiary.Reporting.Statistics.Median(samples[i]);
            Console.WriteLine($"{variants[i].Name,-34} {F(median),18} {F(sorted[sorted.Length / 10]) + "–" + F(sorted[sorted.Length * 9 / 10]),16} {F(median / plain, "F3") + "×",9}");
        }
        var fused = Topiary.Reporting.Statistics.Median(samples[1]) / plain;
        Console.WriteLine();
        Console.WriteLine($"goal fused ≤ 1.10× plain: {(fused <= 1.10 ? "met" : "NOT met")} ({F(fused, "F3")}×); two-pass / fused = {F(Topiary.Reporting.Statistics.Median(samples[2]) / Topiary.Reporting.Statistics.Median(samples[1]), "F3")}×");
        return 0;
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
