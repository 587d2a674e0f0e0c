using Topiary.Comparison;
using Topiary.Reporting;

namespace Topiary.Tests.Comparison;

/// <summary>The size-for-size statistics against hand-computed values: per size and method over the seeds that reached it, and paired by seed.</summary>
public class SizeStatisticsTests
{
    private static ComparisonRun Run(string method, int seed, string cpu, params (double Size, double Test)[] sizes) =>
        new(method, seed, 0.9, 0.9, 0.9, 0.01, 0, true, 1)
        {
            Cpu = cpu,
            Sizes = sizes.Select(s => new SizeResult(s.Size, 100, s.Size * 1.1, s.Size, s.Test - 0.01, 0.3, s.Test, 500)).ToList(),
        };

    private static readonly ComparisonRun[] Runs =
    [
        Run("relevance", 1, "A", (0.1, 0.90), (0.02, 0.86)),
        Run("relevance", 2, "A", (0.1, 0.91), (0.02, 0.88)),
        Run("relevance", 3, "A", (0.1, 0.93)),                     // did not reach 2 %
        Run("none", 1, "A", (0.1, 0.89), (0.02, 0.85)),
        Run("none", 2, "A", (0.1, 0.90), (0.02, 0.84)),
        Run("none", 3, "B", (0.1, 0.88), (0.02, 0.83)),            // another CPU
    ];

    [Fact]
    public void Means_and_spreads_are_over_the_seeds_that_reached_each_size()
    {
        var summaries = SizeStatistics.Summarize(["relevance", "none"], Runs)!;
        Assert.Equal([0.1, 0.1, 0.02, 0.02], summaries.Select(s => s.Size));
        var relevanceAt2 = summaries.Single(s => s.Size == 0.02 && s.Method == "relevance");
        Assert.Equal((3, 2), (relevanceAt2.Runs, relevanceAt2.Reached));
        Assert.Equal(0.87, relevanceAt2.TestMetricMean, 1e-12);
        Assert.Equal(Math.Sqrt(2 * 0.01 * 0.01), relevanceAt2.TestMetricStd, 1e-12);   // values 0.86, 0.88
        Assert.Equal(0.86, relevanceAt2.ValMetricMean, 1e-12);
        var relevanceAt10 = summaries.Single(s => s.Size == 0.1 && s.Method == "relevance");
        Assert.Equal(0.91333333333333333, relevanceAt10.TestMetricMean, 1e-12);
        Assert.Equal(Math.Sqrt((0.0133333333333333 * 0.0133333333333333 + 0.0033333333333333 * 0.0033333333333333 + 0.0166666666666667 * 0.0166666666666667) / 2),
            relevanceAt10.TestMetricStd, 1e-12);
    }

    [Fact]
    public void Differences_pair_seeds_that_reached_the_size_on_the_same_CPU()
    {
        var paired = SizeStatistics.Paired(["relevance", "none"], ["none", "l2"], Runs)!;
        var at10 = paired.Single(p => p.Size == 0.1).Difference;
        // Seeds 1 and 2 (seed 3's none ran on CPU B): d = 0.01, 0.01.
        Assert.Equal(("relevance", "none", 2), (at10.Method, at10.Baseline, at10.Pairs));
        Assert.Equal(0.01, at10.Mean, 1e-12);
        Assert.Equal(0, at10.Std, 1e-12);
        var at2 = paired.Single(p => p.Size == 0.02).Difference;
        // d = 0.01, 0.04: mean 0.025, s = 0.0212132, half-width t_{0.975,1}·s/√2 = 12.7062047·0.015 = 0.1905931.
        Assert.Equal(2, at2.Pairs);
        Assert.Equal(0.025, at2.Mean, 1e-12);
        Assert.Equal(0.025 - 0.19059307104261, at2.Low, 1e-9);
        Assert.Equal(0.025 + 0.19059307104261, at2.High, 1e-9);
    }

    [Fact]
    public void A_comparison_without_the_protocol_has_no_size_statistics()
    {
        var runs = new[] { new ComparisonRun("none", 1, 0.9, 0.9, 0.9, 0.01, 0, true, 1) };
        Assert.Null(SizeStatistics.Summarize(["none"], runs));
        Assert.Null(SizeStatistics.Paired(["none"], ["none"], runs));
    }
}
