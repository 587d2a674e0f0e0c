using Topiary.Methods;
using Topiary.Backend;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Training;

public class PruningLoopTests
{
    private static PruningOptions Quick => new()
    {
        Method = new RelevancePruning { CropFraction = 0.2 }, DenseEpochs = 1, Epochs = 2, EvalEvery = 5, Floor = 0.5, BatchSize = 50, Patience = 50, Seed = 3,
    };

    [Fact]
    public void Nothing_is_pruned_while_the_validation_metric_is_below_the_floor()
    {
        TorchBackend.EnsureVerified();
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = new LeNet300();
        var pruner = PruningMethods.Loop(model, new ImageClassificationTask(data), Quick with { Floor = 1.0 });
        var outcome = pruner.Run();
        Assert.Equal(1.0, pruner.Masks.Density);
        Assert.All(outcome.Trajectory, p => Assert.False(p.Pruned));
    }

    [Fact]
    public void Above_the_floor_each_evaluation_crops_and_the_smallest_model_at_the_floor_is_selected()
    {
        TorchBackend.EnsureVerified();
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = new LeNet300();
        var task = new ImageClassificationTask(data);
        DenseTrainer.Train(model, task, Quick);
        var pruner = PruningMethods.Loop(model, task, Quick);
        var outcome = pruner.Run();

        var crops = outcome.Trajectory.Count(p => p.Pruned);
        Assert.True(crops >= 3, $"expected several crops on easy data, got {crops}");
        // Before every crop the metric was above the floor; after k crops the density is 0.8^k.
        Assert.All(outcome.Trajectory.Where(p => p.Pruned), p => Assert.True(p.Validation > 0.5));
        var atFloor = outcome.Trajectory.Where(p => p.Validation >= 0.5).ToList();
        Assert.Equal(atFloor.Min(p => p.PrunableRemainingFraction), outcome.SelectedRemainingFraction);
        Assert.Equal(outcome.SelectedRemainingFraction, pruner.Masks.Density, 9);
        var recheck = Evaluation.Classify(model, data.ValidationImages, data.ValidationLabels);
        Assert.Equal(outcome.SelectedValidation.Metric, recheck.Metric, 9);
    }

    [Fact]
    public void Patience_stops_the_run_when_no_smaller_model_reaches_the_floor()
    {
        TorchBackend.EnsureVerified();
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = new LeNet300();
        var outcome = PruningMethods.Loop(model, new ImageClassificationTask(data), Quick with { Floor = 1.0, Patience = 3, Epochs = 20 }).Run();
        Assert.Contains("patience", outcome.StopReason);
        Assert.True(outcome.Trajectory.Count < 20 * data.StepsPerEpoch(50) / 5);
    }

    [Fact]
    public void Cancellation_stops_the_loop()
    {
        using var data = TinyData.Split();
        using var model = new LeNet300();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => PruningMethods.Loop(model, new ImageClassificationTask(data), Quick).Run(cancellationToken: cancelled.Token));
    }

    [Theory]
    [InlineData("Floor")]
    [InlineData("Patience")]
    [InlineData("LearningRate")]
    [InlineData("Momentum")]
    public void Out_of_range_options_name_their_property_not_a_flag(string property)
    {
        var options = property switch
        {
            "Floor" => Quick with { Floor = -0.1 },
            "Patience" => Quick with { Patience = 0 },
            "LearningRate" => Quick with { Optimizer = new AdamOptions { LearningRate = 0 } },
            _ => Quick with { Optimizer = new SgdOptions { Momentum = 1 } },
        };
        var error = Assert.Throws<PruningOptionException>(options.Validate);
        Assert.Equal(property, error.Property);
        Assert.StartsWith($"PruningOptions.{property}:", error.Message);
        Assert.DoesNotContain("--", error.Message);
    }

    [Theory]
    [InlineData("CropFraction")]
    [InlineData("Gamma")]
    [InlineData("Alpha")]
    public void Out_of_range_method_settings_name_the_method_and_property(string property)
    {
        var method = property switch
        {
            "CropFraction" => new RelevancePruning { CropFraction = 1.5 },
            "Gamma" => new RelevancePruning { Gamma = -1 },
            _ => new RelevancePruning { Alpha = 0 },
        };
        var error = Assert.Throws<PruningMethodException>((Quick with { Method = method }).Validate);
        Assert.Equal(property, error.Property);
        Assert.Contains(nameof(RelevancePruning), error.Message);
        Assert.DoesNotContain("--", error.Message);
    }
}
