using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Reporting;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>The relevance gate as runs record it and as <see cref="GateProbe"/> measures it (issue 16).</summary>
public class GateStatisticsTests
{
    private static Sequential Model()
    {
        manual_seed(2);
        return nn.Sequential(("fc1", nn.Linear(12, 16)), ("relu", nn.ReLU()), ("fc2", nn.Linear(16, 4)));
    }

    private static (Tensor X, Tensor Y) Batch(int seed)
    {
        var generator = new Generator((ulong)seed);
        return (randn(24, 12, generator: generator), randint(0, 4, [24], generator: generator));
    }

    // Quantile with linear interpolation between order statistics, as torch.quantile computes it, in plain C#.
    private static double Quantile(double[] sorted, double level)
    {
        var h = level * (sorted.Length - 1);
        var low = (int)Math.Floor(h);
        return low + 1 < sorted.Length ? sorted[low] + (h - low) * (sorted[low + 1] - sorted[low]) : sorted[low];
    }

    // What the statistics of one tensor must be: from the loss gradient on the unpruned entries, computed apart.
    private static void AssertMatches(LayerGate layer, Tensor gradient, Tensor mask, double alpha)
    {
        var alive = gradient.abs().to(float64).masked_select(mask.ne(0)).data<double>().OrderBy(v => v).ToArray();
        var gates = alive.Select(s => Math.Exp(-s / alpha)).OrderBy(v => v).ToArray();
        for (var i = 0; i < GateQuantiles.Levels.Count; i++)
        {
            var level = GateQuantiles.Levels[i];
            Assert.Equal(Quantile(alive, level), layer.Signal[i], 1e-9 + 1e-6 * Quantile(alive, level));
            Assert.Equal(Quantile(gates, level), layer.Gate[i], 1e-6);
        }
        Assert.Equal(gates.Count(g => g < 0.5) / (double)gates.Length, layer.BelowHalf, 1e-12);
    }

    [Fact]
    public void A_session_reports_the_gate_of_its_last_step_over_unpruned_weights_from_the_gradient_it_already_had()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var optimizer = torch.optim.SGD(model.parameters(), 0.05);
        var method = new RelevancePruning { CropFraction = 0.5, AlphaQuantile = 0.5, AlphaSmoothing = 0 };
        using var session = new PruningSession(model, method, new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10 });
        session.Attach(optimizer);
        Assert.Empty(session.GateStatistics());                                   // no step yet

        void Step(Tensor x, Tensor y)
        {
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(x), y).backward();
            session.BeforeStep();
            optimizer.step();
            session.AfterStep();
        }
        var (x1, y1) = Batch(1);
        Step(x1, y1);
        Assert.True(session.Evaluate(0.9).Pruned);
        var (x2, y2) = Batch(2);
        var expected = autograd.grad([nn.functional.cross_entropy(model.forward(x2), y2)], model.parameters().Cast<Tensor>().ToList()).Select(g => g.detach().clone()).ToList();
        Step(x2, y2);

        var layers = session.GateStatistics();
        Assert.Equal(session.Masks.Entries.Select(e => e.Name), layers.Select(l => l.Name));
        var regularizer = (RelevanceWeightDecay)session.Regularizer;
        for (var i = 0; i < layers.Count; i++)
        {
            var entry = session.Masks.Entries[i];
            Assert.Equal(regularizer.CurrentAlpha(entry.Parameter), layers[i].Alpha);
            AssertMatches(layers[i], expected[i], entry.Mask, layers[i].Alpha);
            // Auto α at the median with ρ = 0: on a large tensor the median gate is about 1/e.
            if (entry.Mask.count_nonzero().item<long>() >= 100) Assert.Equal(Math.Exp(-1), layers[i].Gate[2], 0.01);
        }
    }

    [Fact]
    public void Other_methods_report_no_gate()
    {
        using var model = Model();
        using var session = new PruningSession(model, new L2Pruning(), new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10 });
        Assert.Empty(session.GateStatistics());
    }

    [Theory]
    [InlineData(1.0, null)]
    [InlineData(1.0, 0.9)]
    public void The_probe_measures_one_batch_with_a_fixed_or_a_quantile_alpha(double alpha, double? quantile)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var masks = parameters.ToDictionary(p => p.name, p => bernoulli(full_like(p.parameter, 0.7), new Generator(4)).detach());
        var (x, y) = Batch(3);
        using (no_grad())
            foreach (var (name, parameter) in parameters) parameter.mul_(masks[name]);
        var expected = autograd.grad([nn.functional.cross_entropy(model.forward(x), y)], parameters.Select(p => (Tensor)p.parameter).ToList())
            .Select(g => g.detach().clone()).ToList();

        var layers = GateProbe.Measure(model, x, y, (o, t) => nn.functional.cross_entropy(o, t), parameters,
            new RelevanceGate { Alpha = alpha, AlphaQuantile = quantile }, masks);

        Assert.Equal(parameters.Count, layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            var alive = expected[i].abs().to(float64).masked_select(masks[parameters[i].name].ne(0)).data<double>().OrderBy(v => v).ToArray();
            var wanted = quantile is { } q ? alive[(int)Math.Floor(q * (alive.Length - 1))] : alpha;
            Assert.Equal(wanted, layers[i].Alpha, 1e-9 + 1e-6 * wanted);
            AssertMatches(layers[i], expected[i], masks[parameters[i].name], layers[i].Alpha);
            Assert.True(parameters[i].parameter.grad is null || parameters[i].parameter.grad!.abs().max().item<float>() == 0, "the probe leaves no gradient");
        }
    }
}
