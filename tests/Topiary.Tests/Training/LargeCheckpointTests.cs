using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Tests.Support;
using Topiary.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>A 100-million-parameter model checkpoints through a stream (never one array) and resumes.</summary>
public class LargeCheckpointTests
{
    [Fact]
    public void A_100_million_parameter_session_checkpoints_and_resumes_bit_for_bit()
    {
        if (Environment.GetEnvironmentVariable("TOPIARY_TEST_LEG") is { } leg && leg != "machine") return;   // once per CI run: it writes 0.8 GB
        using var dir = new TestDirectory();
        var path = dir.File("large.ckpt");
        var x = randn(new long[] { 4, 10_000 }, generator: new Generator(1));
        var y = randint(0, 10_000, new long[] { 4 }, generator: new Generator(2));
        var settings = new PruningSessionSettings { Bound = new MetricFloor(0.5), StepsPerEpoch = 10 };

        manual_seed(1);
        using var model = nn.Sequential(nn.Linear(10_000, 10_000));
        Assert.True(model.parameters().Sum(p => p.numel()) >= 100_000_000);
        var adam = optim.Adam(model.parameters(), 1e-3);
        using (var session = new PruningSession(model, new RelevancePruning(), settings))
        {
            session.Attach(adam);
            adam.zero_grad();
            session.Backward(x, y, (o, t) => nn.functional.cross_entropy(o, t));
            adam.step();
            session.AfterStep();
            // The model, Adam's two moments (1.2 GB of float32) and the masks (as bits).
            using var checkpoint = session.Capture();
            checkpoint.Save(path);
        }
        Assert.True(new FileInfo(path).Length > 1_200_000_000, $"the checkpoint holds {new FileInfo(path).Length:N0} bytes");

        manual_seed(99);
        using var resumed = nn.Sequential(nn.Linear(10_000, 10_000));
        var resumedAdam = optim.Adam(resumed.parameters(), 1e-3);
        using (var session = new PruningSession(resumed, new RelevancePruning(), settings))
        {
            session.Attach(resumedAdam);
            using (var saved = SessionCheckpoint.Load(path)) session.Restore(saved);
            File.Delete(path);
            Assert.Equal(1, session.Step);
            foreach (var (name, p) in model.named_parameters())
                Assert.True(TensorAssert.Same(p, resumed.named_parameters().Single(q => q.name == name).parameter), name);
            // One more step on each gives the same weights: the optimizer's state came back too.
            foreach (var (m, opt) in new[] { (model, adam), (resumed, resumedAdam) })
            {
                opt.zero_grad();
                nn.functional.cross_entropy(m.forward(x), y).backward();
                opt.step();
            }
            Assert.True(TensorAssert.Same(model.parameters().First(), resumed.parameters().First()));
        }
    }
}
