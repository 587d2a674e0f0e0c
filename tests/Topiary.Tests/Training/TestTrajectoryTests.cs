using Topiary.Methods;
using Topiary.Experiments;
using Topiary.Backend;
using Topiary.Reporting;
using Topiary.Tests.Support;
using Topiary.Training;

namespace Topiary.Tests.Training;

public class TestTrajectoryTests
{
    private static PruningOptions Quick => new()
    {
        Method = new RelevancePruning { CropFraction = 0.2 }, DenseEpochs = 1, Epochs = 2, EvalEvery = 5, Floor = 0.5, BatchSize = 50, Patience = 50, Seed = 3,
        TestCurve = true,
    };

    private static RunReport Run(PruningOptions options)
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var subject = new ImageSubject("lenet300", TinyData.Split());
        var result = Experiment.Run(subject, options, new Dictionary<string, object>());
        result.Masks.Dispose();
        result.Model.Dispose();
        return result.Report;
    }

    private static void AssertPathToResult(RunReport report)
    {
        var path = report.TestTrajectory;
        Assert.True(path.Count >= 3, $"expected several pruning events, got {path.Count - 1}");
        for (var i = 1; i < path.Count; i++)
            Assert.True(path[i].RemainingFraction < path[i - 1].RemainingFraction, $"point {i}: {path[i].RemainingFraction} after {path[i - 1].RemainingFraction}");
        Assert.Equal(report.Final.RemainingFraction, path[^1].RemainingFraction);
        Assert.Equal(report.Final.Test, path[^1].TestMetric);
        Assert.Equal(report.Final.Step, path[^1].Step);
    }

    [Fact]
    public void The_iterative_rule_records_the_test_metric_before_each_crop_starting_with_the_dense_model()
    {
        var report = Run(Quick);
        AssertPathToResult(report);
        // The report records the settings in the canonical form the checkpoints compare, and it reads back.
        Assert.Equal(Quick.Describe().ToJsonString(), report.Settings!.ToJsonString());
        Assert.Equal(Quick.Describe().ToJsonString(), ReportJson.Deserialize(ReportJson.Serialize(report)).Settings!.ToJsonString());
        // The first crop happens at step 0: measured before it, the point is the dense model itself.
        Assert.Equal(0, report.TestTrajectory[0].Step);
        Assert.Equal(1.0, report.TestTrajectory[0].RemainingFraction);
        Assert.Equal(report.Dense.Test, report.TestTrajectory[0].TestMetric);
        // Between crops the model trains at the remaining fraction the crop left: (1 - t)^k of the prunable entries.
        Assert.Equal(0.8, report.TestTrajectory[1].RemainingFraction, 2);
    }

    [Fact]
    public void Pruning_after_a_step_gmp_is_measured_before_the_pruning_too()
    {
        var report = Run(new PruningDefaults(Quick, new MethodSettings { TargetSparsity = 0.8 }).For("gmp"));
        AssertPathToResult(report);
        Assert.Equal(1.0, report.TestTrajectory[0].RemainingFraction);
        Assert.True(report.TestTrajectory[0].Step > 0, "GMP's first pruning step comes after training");
        Assert.True(report.Timing.TestTrajectorySeconds > 0);
    }

    [Fact]
    public void The_path_ends_at_the_result_and_drops_events_that_do_not_shrink_the_model()
    {
        TestPoint At(double remaining, long step) => new(step, remaining, step);
        var events = new[] { At(1.0, 0), At(0.8, 5), At(0.8, 10), At(0.6, 15), At(0.5, 20), At(0.4, 25) };
        var path = TestTrajectory.EndingAt(events, At(0.6, 30));
        Assert.Equal(new long[] { 0, 5, 30 }, path.Select(p => p.Step));
    }
}
