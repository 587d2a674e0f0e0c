using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>RigL and SET: the sparsity of every tensor stays constant while connections move, and RigL grows those with the largest |g|.</summary>
public class RegrowthTests
{
    [Theory]
    [InlineData(Regrowth.Gradient)]
    [InlineData(Regrowth.Random)]
    public void Every_tensor_keeps_its_sparsity_while_connections_are_dropped_and_grown(Regrowth regrowth)
    {
        using var data = TinyData.Split();
        manual_seed(8);
        using var model = UserCnn.Create();
        using var optimizer = new AdamOptimizer(model.parameters(), 1e-2);
        using var session = new PruningSession(model, new DynamicSparsePruning { TargetSparsity = 0.8, Regrowth = regrowth },
            new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10, TotalSteps = 40, EvaluationInterval = 5 });
        session.Attach(optimizer);
        model.train();
        long[]? counts = null;
        float[]? firstMask = null;
        var grownChecked = 0;
        for (var s = 0; s < 40; s++)
        {
            using var scope = NewDisposeScope();
            var start = s * 32 % (data.TrainCount - 32);
            optimizer.ZeroGrad();
            nn.functional.cross_entropy(model.forward(data.TrainImages.narrow(0, start, 32)), data.TrainLabels.narrow(0, start, 32)).backward();
            session.BeforeStep();
            var before = session.Masks.Entries.Select(e => e.Mask.flatten().clone()).ToList();
            var gradients = session.Masks.Entries.Select(e => session.Context.DenseGradient(e)?.flatten().abs().clone()).ToList();
            optimizer.Step();
            session.AfterStep();
            var now = session.Masks.Entries.Select(e => e.Mask.sum().item<float>()).Select(c => (long)c).ToArray();
            if (counts is null)
            {
                counts = now;
                firstMask = session.Masks.Entries.SelectMany(e => e.Mask.flatten().data<float>().ToArray()).ToArray();
                Assert.InRange(session.Masks.Density, 0.199, 0.201);
                continue;
            }
            Assert.Equal(counts, now);
            if (regrowth != Regrowth.Gradient || session.Step % 5 != 0) continue;
            // The entries grown at this update are the largest |g| among those dead before it.
            for (var i = 0; i < before.Count; i++)
            {
                var after = session.Masks.Entries[i].Mask.flatten();
                var grown = after.gt(0).logical_and(before[i].eq(0));
                var k = grown.sum().item<long>();
                if (k == 0) continue;
                var deadScores = gradients[i]!.masked_select(before[i].eq(0));
                var threshold = deadScores.sort(0, descending: true).Values[k - 1].item<float>();
                Assert.True(gradients[i]!.masked_select(grown).ge(threshold).all().item<bool>(), $"{session.Masks.Entries[i].Name}: a grown entry is not among the {k} largest |g|");
                grownChecked++;
            }
        }
        var lastMask = session.Masks.Entries.SelectMany(e => e.Mask.flatten().data<float>().ToArray()).ToArray();
        Assert.NotEqual(firstMask, lastMask);
        if (regrowth == Regrowth.Gradient) Assert.True(grownChecked > 0);
        foreach (var e in session.Masks.Entries)
            Assert.True(e.Parameter.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{e.Name}: a dead weight is not 0");
    }

    [Fact]
    public void The_drop_fraction_follows_the_cosine_to_zero_at_the_end_step()
    {
        var policy = new RegrowthPolicy(0.9, 10, 100, 0.3);
        Assert.Equal(0.3, policy.DropFractionAt(0), 12);
        Assert.Equal(0.15, policy.DropFractionAt(50), 12);
        Assert.Equal(0, policy.DropFractionAt(100), 12);
        Assert.Equal(("rigl", "set"), (new DynamicSparsePruning().Name, new DynamicSparsePruning { Regrowth = Regrowth.Random }.Name));
    }

    [Fact]
    public void Dense_gradients_are_kept_only_for_the_mask_updates()
    {
        var rigl = new RegrowthPolicy(0.9, 10, 100, 0.3);
        Assert.False(rigl.ReadsDenseGradientsAt(10)); // the first pruning ranks by the criterion, not by gradients
        using var weight = new TorchSharp.Modules.Parameter(rand(4, 4));
        using var masks = new PruningMasks(new[] { ("w", weight) });
        var context = new PruningContext(masks, new MetricFloor(0), () => throw new InvalidOperationException(), 10, 200,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) { Step = 1 };
        rigl.AfterStep(context);
        Assert.Equal(new[] { 10L, 20L, 90L }, new long[] { 5, 10, 11, 15, 20, 90, 100, 110 }.Where(rigl.ReadsDenseGradientsAt));
        Assert.False(new RegrowthPolicy(0.9, 10, 100, 0.3, Regrowth.Random).ReadsDenseGradientsAt(10));
    }
}
