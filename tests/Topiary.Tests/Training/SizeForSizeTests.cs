using Topiary.Backend;
using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Reporting;
using Topiary.Tests.Support;
using Topiary.Training;

namespace Topiary.Tests.Training;

/// <summary>
/// The size-for-size protocol: every crossed size is measured once, cropped to the size, after the same fine-tuning
/// for every method; the run itself goes on exactly as without the protocol.
/// </summary>
public class SizeForSizeTests
{
    private static PruningOptions Quick(PruningMethod method, SizeProtocol? sizes) => new()
    {
        Method = method, DenseEpochs = 1, Epochs = 2, EvalEvery = 5, Floor = 0, BatchSize = 50, Patience = 50, Seed = 3, Sizes = sizes,
    };

    private static (RunReport Report, float[] Weights) Run(PruningOptions options)
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var subject = new ImageSubject("lenet300", TinyData.Split());
        var result = Experiment.Run(subject, options, new Dictionary<string, object>());
        var weights = result.Model.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).ToArray();
        result.Masks.Dispose();
        result.Model.Dispose();
        return (result.Report, weights);
    }

    private static readonly SizeProtocol Protocol = new([0.5, 0.3, 0.2], FineTuneSteps: 7);

    [Fact]
    public void Each_crossed_size_is_cropped_to_exactly_that_size_and_gets_the_same_fine_tuning()
    {
        foreach (var method in new PruningMethod[] { new RelevancePruning { CropFraction = 0.2 }, new GradualMagnitudePruning { TargetSparsity = 0.85 } })
        {
            var (report, _) = Run(Quick(method, Protocol));
            var sizes = report.SizeResults!;
            Assert.Equal([0.5, 0.3, 0.2], sizes.Select(s => s.Target));
            foreach (var size in sizes)
            {
                // The crop keeps round(size × parameters) non-zeros: the target, up to one parameter.
                Assert.InRange(size.Remaining, size.Target - 1.0 / 266_610, size.Target + 1.0 / 266_610);
                Assert.True(size.RemainingBefore > size.Target, $"{method.Name}: the snapshot of {size.Target} was taken at {size.RemainingBefore}");
                Assert.Equal(7, size.FineTuneSteps);
                Assert.InRange(size.TestMetric, 0, 1);
            }
            // Each size comes from the event that crossed it: sizes crossed later come from later steps.
            Assert.True(sizes.Zip(sizes.Skip(1)).All(p => p.Second.Step >= p.First.Step));
        }
    }

    [Fact]
    public void The_run_goes_on_exactly_as_without_the_protocol()
    {
        var method = new RelevancePruning { CropFraction = 0.2 };
        var (without, plain) = Run(Quick(method, null));
        var (with, probed) = Run(Quick(method, Protocol));
        Assert.Null(without.SizeResults);
        Assert.Equal(plain, probed);
        Assert.Equal(without.Trajectory.Select(p => (p.Step, p.PrunableRemainingFraction, p.Validation, p.TrainLoss)), with.Trajectory.Select(p => (p.Step, p.PrunableRemainingFraction, p.Validation, p.TrainLoss)));
        Assert.Equal(without.Final, with.Final);
    }

    [Fact]
    public void More_fine_tuning_changes_the_measurement_and_none_measures_the_crop_as_it_is()
    {
        var method = new RelevancePruning { CropFraction = 0.2 };
        var (none, _) = Run(Quick(method, Protocol with { FineTuneSteps = 0 }));
        var (some, _) = Run(Quick(method, Protocol));
        Assert.All(none.SizeResults!, s => Assert.Equal(0, s.FineTuneSteps));
        Assert.Equal(none.SizeResults!.Select(s => (s.Step, s.Remaining)), some.SizeResults!.Select(s => (s.Step, s.Remaining)));
        // Fine-tuning moves the weights: the validation loss after it is not the crop's (accuracy on the tiny data is 1 either way).
        Assert.All(none.SizeResults!.Zip(some.SizeResults!), p => Assert.NotEqual(p.First.ValidationLoss, p.Second.ValidationLoss));
    }

    [Theory]
    [InlineData(new[] { 0.5, 0.5 }, 1, "distinct and given largest first")]
    [InlineData(new[] { 0.2, 0.5 }, 1, "distinct and given largest first")]
    [InlineData(new[] { 1.0 }, 1, "each size must lie in (0, 1)")]
    [InlineData(new double[0], 1, "at least one size")]
    [InlineData(new[] { 0.5 }, -1, "must be ≥ 0")]
    public void Bad_protocols_are_refused_naming_the_setting(double[] sizes, int steps, string reason)
    {
        var e = Assert.Throws<PruningOptionException>(() => Quick(new RelevancePruning(), new SizeProtocol(sizes, steps)).Validate());
        Assert.Equal(nameof(PruningOptions.Sizes), e.Property);
        Assert.Contains(reason, e.Reason);
    }
}
