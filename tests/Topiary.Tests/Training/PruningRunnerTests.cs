using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

public class PruningRunnerTests
{
    private static List<(Tensor, Tensor)> Batches(Tensor images, Tensor labels, int size) =>
        Enumerable.Range(0, (int)(images.shape[0] / size)).Select(i => (images.narrow(0, i * size, size), labels.narrow(0, i * size, size))).ToList();

    [Fact]
    public void A_users_model_and_batches_give_a_pruned_model_and_the_clis_report()
    {
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        manual_seed(1);
        using var model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10));
        var train = Batches(data.TrainImages, data.TrainLabels, 50);
        var validation = Batches(data.ValidationImages, data.ValidationLabels, 100);
        var test = Batches(data.TestImages, data.TestLabels, 100);
        var progress = new List<TrainingProgress>();

        var result = PruningRunner.Run(model, PruningData.From(train, validation, test),
            new PruningRunSettings { Method = new RelevancePruning { CropFraction = 0.3 }, Bound = new MetricFloor(0.3), Epochs = 2, EvaluationInterval = 5 },
            (o, t) => nn.functional.cross_entropy(o, t), ValidationMetric.Accuracy, name: "mlp", progress: new SyncProgress<TrainingProgress>(progress.Add));

        Assert.True(result.Report.Final.RemainingFraction < 0.5, $"remaining {result.Report.Final.RemainingFraction}");
        Assert.True(result.Report.Final.Validation >= 0.3);
        Assert.Equal("mlp", result.Report.Model);
        Assert.Equal(train.Count * 50, result.Report.Dataset.TrainCount);
        Assert.NotEmpty(progress);
        // The user's batches are intact: the run never disposed them.
        Assert.All(train, b => Assert.Equal(50, b.Item1.shape[0]));
        foreach (var e in result.Masks.Entries)
            Assert.True(e.Parameter.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>());
        var files = result.WriteReport(dir.Path);
        Assert.Equal(result.Report.Final.Test, ReportJson.Read(files[0]).Final.Test);
        Assert.Contains("mlp", File.ReadAllText(files[1]));
    }

    [Fact]
    public void A_bound_whose_direction_differs_from_the_metrics_is_refused()
    {
        using var model = nn.Sequential(nn.Linear(4, 2));
        var batch = new List<(Tensor, Tensor)> { (zeros(2, 4), zeros(2, dtype: int64)) };
        var error = Assert.Throws<PruningMethodException>(() => PruningRunner.Run(model, PruningData.From(batch, batch),
            new PruningRunSettings { Method = new MagnitudePruning(), Bound = new MetricFloor(0.5) }, (o, t) => nn.functional.cross_entropy(o, t),
            ValidationMetric.Perplexity));
        Assert.Equal("PruningRunSettings.Bound", error.Setting);
    }
}
