using Topiary.Methods;
using Topiary.Experiments;
using Topiary.Reporting;
using Topiary.Tests.Support;
using Topiary.Training;

namespace Topiary.Tests.Training;

public class ReproducibilityTests
{
    [Fact]
    public void The_same_seed_gives_the_same_report_numbers_and_another_seed_does_not()
    {
        var options = new PruningOptions { Method = new RelevancePruning { CropFraction = 0.1 }, DenseEpochs = 1, Epochs = 1, EvalEvery = 4, Floor = 0.3, BatchSize = 40, Seed = 77 };
        string Numbers(PruningOptions o)
        {
            using var subject = new ImageSubject("lenet300", TinyData.Split(o.Seed));
            var result = Experiment.Run(subject, o, new Dictionary<string, object> { ["seed"] = o.Seed });
            var report = result.Report with { Timing = new TimingInfo(0, 0, 0, 0) };
            result.Masks.Dispose();
            return ReportJson.Serialize(report);
        }

        var first = Numbers(options);
        var second = Numbers(options);
        var other = Numbers(options with { Seed = 78 });
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }
}
