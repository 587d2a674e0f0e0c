using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Tests.Support;
using Topiary.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>Lottery-ticket rewinding: after a crop the surviving weights are exactly those of step k, under the mask, with a fresh optimizer.</summary>
public class WeightRewindTests
{
    private static Dictionary<string, float[]> Weights(Sequential model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().flatten().data<float>().ToArray());

    private static void Train(Sequential model, PruningSession session, AdamOptimizer optimizer, Topiary.Data.ImageClassificationData data, int from, int steps)
    {
        for (var s = from; s < from + steps; s++)
        {
            using var scope = NewDisposeScope();
            var start = s * 32 % (data.TrainCount - 32);
            optimizer.ZeroGrad();
            nn.functional.cross_entropy(model.forward(data.TrainImages.narrow(0, start, 32)), data.TrainLabels.narrow(0, start, 32)).backward();
            session.BeforeStep();
            optimizer.Step();
            session.AfterStep();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void After_a_crop_the_remaining_weights_are_those_of_step_k_and_the_optimizer_starts_afresh(long k)
    {
        using var data = TinyData.Split();
        manual_seed(5);
        using var model = UserCnn.Create();
        using var optimizer = new AdamOptimizer(model.parameters(), 1e-2);
        using var session = new PruningSession(model, new MagnitudePruning { CropFraction = 0.5, RewindStep = k },
            new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10 });
        session.Attach(optimizer);
        model.train();
        Train(model, session, optimizer, data, 0, (int)k);
        var atK = Weights(model);
        Train(model, session, optimizer, data, (int)k, 6);
        Assert.NotEqual(atK.Values.SelectMany(v => v), Weights(model).Values.SelectMany(v => v));
        Assert.True(session.Evaluate(0.5).Pruned);

        var masks = session.Masks.Entries.ToDictionary(e => e.Name, e => e.Mask.flatten().data<float>().ToArray());
        foreach (var (name, now) in Weights(model))
        {
            var expected = masks.TryGetValue(name, out var mask) ? atK[name].Zip(mask, (w, m) => w * m).ToArray() : atK[name];
            Assert.Equal(expected, now);
        }
        Assert.All(optimizer.StateBuffers().Values, buffer => Assert.Equal(0, buffer.abs().sum().item<float>()));
        Assert.Equal(k, session.Method.Describe()["rewind_step"]!.GetValue<long>());
    }

    [Fact]
    public void A_crop_before_step_k_leaves_the_weights_and_a_checkpoint_carries_the_rewind_point()
    {
        using var data = TinyData.Split();
        manual_seed(6);
        using var model = UserCnn.Create();
        using var optimizer = new AdamOptimizer(model.parameters(), 1e-2);
        var method = new MagnitudePruning { CropFraction = 0.3, RewindStep = 4 };
        var settings = new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10 };
        using var session = new PruningSession(model, method, settings);
        session.Attach(optimizer);
        model.train();
        Train(model, session, optimizer, data, 0, 2);
        var before = Weights(model);
        Assert.True(session.Evaluate(0.5).Pruned);
        var masks = session.Masks.Entries.ToDictionary(e => e.Name, e => e.Mask.flatten().data<float>().ToArray());
        foreach (var (name, now) in Weights(model))
            Assert.Equal(masks.TryGetValue(name, out var mask) ? before[name].Zip(mask, (w, m) => w * m).ToArray() : before[name], now);

        // Past step k, a checkpoint holds the rewind point: a restored session rewinds to the same weights.
        Train(model, session, optimizer, data, 2, 4);
        using var checkpoint = session.Capture();
        Train(model, session, optimizer, data, 6, 2);
        Assert.True(session.Evaluate(0.5).Pruned);
        var rewound = Weights(model);

        manual_seed(7);
        using var other = UserCnn.Create();
        using var otherOptimizer = new AdamOptimizer(other.parameters(), 1e-2);
        using var restored = new PruningSession(other, method, settings);
        restored.Attach(otherOptimizer);
        restored.Restore(checkpoint);
        other.train();
        Train(other, restored, otherOptimizer, data, 6, 2);
        Assert.True(restored.Evaluate(0.5).Pruned);
        Assert.Equal(rewound, Weights(other));
    }
}
