using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class LogitAttenuatingWeightNormalizationTests
{
    private static Tensor Weight(ulong seed) => randn(6, 5, generator: new Generator(seed));

    // One step of the loop as RegularizedStep runs it: AddGradient, a gradient step that grows the weights, Project, mask.
    private static void Step(GradientRegularizer lawn, Tensor w, Tensor mask, ulong seed)
    {
        var g = randn(w.shape, generator: new Generator(seed)).sub(w.mul(0.5));
        lawn.AddGradient(w, g, 1);
        w.sub_(g.mul(0.1)).mul_(mask);
        lawn.Project(w, g, 1, 0.1);
        w.mul_(mask);
    }

    [Fact]
    public void During_the_free_epochs_the_weights_move_as_without_it()
    {
        using var scope = NewDisposeScope();
        var lawn = new LogitAttenuatingWeightNormalization(freeEpochs: 2);
        var w = Weight(1);
        var plain = w.clone();
        var mask = ones_like(w);
        lawn.OnEpoch(null!, 2, 3);
        for (ulong s = 0; s < 4; s++)
        {
            Step(lawn, w, mask, s);
            Step(new NoRegularization(), plain, mask, s);
        }
        Assert.True(w.equal(plain).all().item<bool>());
        Assert.Null(lawn.FrozenNorm(w));
    }

    [Fact]
    public void After_the_free_epochs_every_step_ends_at_the_norm_the_free_phase_ended_with_and_pruned_entries_stay_zero()
    {
        using var scope = NewDisposeScope();
        var lawn = new LogitAttenuatingWeightNormalization(freeEpochs: 1);
        var w = Weight(2);
        var mask = rand(w.shape, generator: new Generator(9)).gt(0.3).to(w.dtype);
        w.mul_(mask);
        Step(lawn, w, mask, 0);
        var endOfFree = w.norm().item<float>();
        lawn.OnEpoch(null!, 2, 3);
        for (ulong s = 1; s < 6; s++)
        {
            Step(lawn, w, mask, s);
            Assert.Equal(endOfFree, w.norm().item<float>(), endOfFree * 1e-6f);
        }
        Assert.Equal(endOfFree, lawn.FrozenNorm(w)!.Value, endOfFree * 1e-6);
        Assert.Equal(0, w.mul(mask.neg().add(1)).abs().sum().item<float>());
    }

    [Fact]
    public void A_strength_below_one_moves_the_norm_that_share_of_the_way()
    {
        using var scope = NewDisposeScope();
        var lawn = new LogitAttenuatingWeightNormalization(freeEpochs: 0);
        var w = Weight(3);
        double c = w.norm().item<float>();
        lawn.AddGradient(w, zeros_like(w), 0.25);
        w.mul_(3);
        double before = w.norm().item<float>();
        lawn.Project(w, null, 0.25, 0.1);
        Assert.Equal(before + 0.25 * (c - before), w.norm().item<float>(), 1e-4);
    }

    [Fact]
    public void The_frozen_norms_and_the_epoch_survive_a_round_trip_into_a_fresh_instance()
    {
        using var scope = NewDisposeScope();
        var original = new LogitAttenuatingWeightNormalization(freeEpochs: 1);
        var w = Weight(4);
        var mask = ones_like(w);
        original.OnEpoch(null!, 2, 3);
        Step(original, w, mask, 0);
        var parameters = new List<(string Name, Tensor Parameter)> { ("fc.weight", w) };
        var state = original.SaveState(parameters);

        var copy = w.clone();
        var restored = new LogitAttenuatingWeightNormalization(freeEpochs: 1);
        restored.LoadState([("fc.weight", copy)], state);
        Assert.True(restored.Constraining);
        for (ulong s = 1; s < 4; s++)
        {
            Step(original, w, mask, s);
            Step(restored, copy, mask, s);
        }
        Assert.True(w.equal(copy).all().item<bool>());
        Assert.Throws<ArgumentException>(() => restored.LoadState([("other.weight", copy)], state));
    }

    [Fact]
    public void The_cli_entry_reads_free_and_bounds_the_strength()
    {
        var entry = RegularizerLibrary.Find("lawn")!;
        var lawn = Assert.IsType<LogitAttenuatingWeightNormalization>(entry.Create(new Dictionary<string, double> { ["free"] = 3 }));
        Assert.Equal(3, lawn.FreeEpochs);
        Assert.Equal(1, entry.MaxStrength);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.Create(new Dictionary<string, double> { ["free"] = -1 }));
    }
}
