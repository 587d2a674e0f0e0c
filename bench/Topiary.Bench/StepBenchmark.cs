using System.Diagnostics;
using System.Globalization;
using Topiary.Backend;
using Topiary.Methods;
using Topiary.Models;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Times one training step of LeNet-5 at batch 100, interleaved in rounds so that machine noise hits every variant
/// alike: with Topiary's Adam, plain, relevance decay fused into one backward pass, and relevance with the authors'
/// two backward passes; with TorchSharp's Adam, the user's own plain step, and the same step with a
/// <see cref="PruningSession"/> (relevance) around it: the component's overhead in a user's loop.
/// </summary>
internal static class StepBenchmark
{
    private sealed record Variant(string Name, Func<Tensor, Tensor, double> Step);

    public static int Run(int rounds, int stepsPerRound)
    {
        var backend = TorchBackend.EnsureVerified();
        Console.WriteLine($"LeNet-5, batch 100; libtorch {backend.TorchVersion}, {backend.OneDnnSummary}, {get_num_threads()} threads; {rounds} rounds × {stepsPerRound} steps per variant");
        var variants = new[]
        {
            OnTopiary("Topiary Adam, plain", new NoRegularization(), 0, twoPasses: false),
            OnTopiary("Topiary Adam, relevance fused (1 backward)", new RelevanceWeightDecay(), 1e-3, twoPasses: false),
            // Issue 16's calibrated gate: a kthvalue per tensor and step for α, a running average of |g|, a step after Adam's.
            OnTopiary("Topiary Adam, relevance calibrated (issue 16)", new RelevanceWeightDecay(new RelevanceGate
            {
                AlphaQuantile = 0.5, Signal = RelevanceSignal.RunningAverage, Decay = DecayCoupling.Decoupled,
            }), 1e-3, twoPasses: false),
            OnTopiary("Topiary Adam, relevance, 2 backward passes", new RelevanceWeightDecay(), 1e-3, twoPasses: true),
            UserLoop("TorchSharp Adam, the user's own step", withSession: false),
            UserLoop("TorchSharp Adam + PruningSession (relevance)", withSession: true),
        };
        var generator = new Generator(1);
        var images = randn(new long[] { 100, 1, 28, 28 }, generator: generator);
        var labels = randint(0, 10, new long[] { 100 }, generator: generator);

        var samples = variants.Select(_ => new List<double>()).ToArray();
        foreach (var variant in variants)
            for (var w = 0; w < 10; w++) variant.Step(images, labels);    // warm-up
        var clock = new Stopwatch();
        for (var round = 0; round < rounds; round++)
            for (var i = 0; i < variants.Length; i++)
                for (var s = 0; s < stepsPerRound; s++)
                {
                    clock.Restart();
                    variants[i].Step(images, labels);
                    samples[i].Add(clock.Elapsed.TotalMilliseconds);
                }

        var medians = samples.Select(s => Topiary.Reporting.Statistics.Median(s)).ToArray();
        Console.WriteLine();
        Console.WriteLine($"{"variant",-46} {"ms/step (median)",18} {"p10–p90",16} {"× its plain",12}");
        for (var i = 0; i < variants.Length; i++)
        {
            var sorted = samples[i].OrderBy(v => v).ToArray();
            var plain = i < 4 ? medians[0] : medians[4];
            Console.WriteLine($"{variants[i].Name,-46} {F(medians[i]),18} {F(sorted[sorted.Length / 10]) + "–" + F(sorted[sorted.Length * 9 / 10]),16} {F(medians[i] / plain, "F3") + "×",12}");
        }
        var fused = medians[1] / medians[0];
        var component = medians[5] / medians[4];
        Console.WriteLine();
        Console.WriteLine($"goal fused ≤ 1.10× plain: {(fused <= 1.10 ? "met" : "NOT met")} ({F(fused, "F3")}×); two-pass / fused = {F(medians[3] / medians[1], "F3")}×; calibrated / fused = {F(medians[2] / medians[1], "F3")}×");
        Console.WriteLine($"goal PruningSession (relevance) ≤ 1.05× the user's own TorchSharp Adam step: {(component <= 1.05 ? "met" : "NOT met")} ({F(component, "F3")}×)");
        return 0;
    }

    private static Variant OnTopiary(string name, GradientRegularizer regularizer, double gamma, bool twoPasses)
    {
        manual_seed(1);
        var model = new LeNet5();
        var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        var optimizer = new AdamOptimizer(model.parameters());
        if (twoPasses)
        {
            var twoPass = new TwoPassStep(model, optimizer, regularizer, model.parameters().ToList(), masks);
            return new Variant(name, (x, y) => twoPass.Run(x, y, gamma));
        }
        var step = new RegularizedStep(model, optimizer, regularizer, model.parameters().ToList(), masks);
        return new Variant(name, (x, y) => step.Run(x, y, gamma));
    }

    private static Variant UserLoop(string name, bool withSession)
    {
        manual_seed(1);
        var model = new LeNet5();
        var optimizer = TorchSharp.torch.optim.Adam(model.parameters(), lr: 1e-3);
        var session = withSession
            ? new PruningSession(model, new RelevancePruning(), new PruningSessionSettings { Bound = new MetricFloor(0.5), StepsPerEpoch = 550 })
            : null;
        session?.Attach(optimizer);
        return new Variant(name, (x, y) =>
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            session?.BeforeStep();
            optimizer.step();
            session?.AfterStep();
            return loss.item<float>();
        });
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
