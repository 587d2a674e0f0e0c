using Topiary.Comparison;
using Topiary.Reporting;

namespace Topiary.Tests.Comparison;

public class MeanTrajectoryTests
{
    private static IReadOnlyList<TestPoint> Path(params (double Remaining, double Metric)[] points) =>
        points.Select((p, i) => new TestPoint(i, p.Remaining, p.Metric)).ToList();

    [Fact]
    public void Seeds_on_the_same_levels_average_level_by_level()
    {
        var mean = MeanTrajectory.Of([Path((1.0, 0.90), (0.8, 0.88), (0.64, 0.86)), Path((1.0, 0.80), (0.8, 0.84), (0.64, 0.82))]);
        Assert.Equal(new[] { 1.0, 0.8, 0.64 }, mean.Select(l => l.RemainingFraction));
        Assert.Equal(new[] { 0.85, 0.86, 0.84 }, mean.Select(l => Math.Round(l.TestMetricMean, 12)));
    }

    [Fact]
    public void Seeds_on_other_levels_are_interpolated_in_log_remaining_and_never_extrapolated()
    {
        // Seed b stops at 0.5, so the mean stops there too; at 0.5 seed a lies halfway (in log) between 1 and 0.25.
        var a = Path((1.0, 10.0), (0.25, 20.0), (0.1, 30.0));
        var b = Path((1.0, 12.0), (0.5, 14.0));
        var mean = MeanTrajectory.Of([a, b]);
        Assert.Equal(new[] { 1.0, 0.5 }, mean.Select(l => l.RemainingFraction));
        Assert.Equal(11.0, mean[0].TestMetricMean, 12);
        Assert.Equal((15.0 + 14.0) / 2, mean[1].TestMetricMean, 12);
    }

    [Fact]
    public void Seeds_that_share_no_range_give_no_curve()
    {
        Assert.Empty(MeanTrajectory.Of([Path((0.5, 1.0)), Path((0.4, 2.0))]));
        Assert.Empty(MeanTrajectory.Of([]));
    }

    [Fact]
    public void A_curve_is_read_at_a_level_only_inside_its_range()
    {
        var curve = MeanTrajectory.Of([Path((1.0, 0.90), (0.1, 0.80), (0.01, 0.50))]);
        Assert.Equal(0.85, MeanTrajectory.AtLevel(curve, Math.Sqrt(0.1))!.Value, 12);   // halfway in log(remaining)
        Assert.Equal(0.80, MeanTrajectory.AtLevel(curve, 0.1)!.Value, 12);
        Assert.Null(MeanTrajectory.AtLevel(curve, 0.005));
        Assert.Null(MeanTrajectory.AtLevel([], 0.5));
    }
}
