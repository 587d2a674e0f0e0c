using Topiary.Comparison;

namespace Topiary.Tests.Comparison;

public class PairedDifferenceTests
{
    [Theory]
    [InlineData(1, 12.706204736174696)]   // tan(0.475π), closed form for ν = 1
    [InlineData(2, 4.302652729749461)]    // (2p − 1)·√(2 / (4p(1 − p))), closed form for ν = 2
    [InlineData(4, 2.7764451051977934)]   // 2·√(cos(θ/3)/√a − 1), a = 4p(1 − p), θ = arccos √a, closed form for ν = 4
    public void The_t_quantile_matches_the_closed_forms(int degreesOfFreedom, double expected) =>
        Assert.Equal(expected, StudentT.Quantile(0.975, degreesOfFreedom), 1e-10 * expected);

    [Theory]
    [InlineData(9, 2.2622)]
    [InlineData(29, 2.0452)]
    [InlineData(1000, 1.9623)]
    public void The_t_quantile_matches_printed_tables(int degreesOfFreedom, double expected) =>
        Assert.Equal(expected, StudentT.Quantile(0.975, degreesOfFreedom), 5e-5);

    [Fact]
    public void The_t_distribution_is_symmetric_and_matches_the_closed_form_cdf_for_two_degrees_of_freedom()
    {
        Assert.Equal(0.8638034375544994, StudentT.Cdf(1.5, 2), 1e-13);                 // ½ + t/(2√(2 + t²))
        Assert.Equal(1 - 0.8638034375544994, StudentT.Cdf(-1.5, 2), 1e-13);
        Assert.Equal(-StudentT.Quantile(0.975, 3), StudentT.Quantile(0.025, 3), 1e-12);
        Assert.Equal(0.5, StudentT.Cdf(0, 7), 1e-15);
    }

    [Fact]
    public void Paired_difference_over_the_common_seeds_by_hand()
    {
        var method = new Dictionary<int, double> { [1] = 0.90, [2] = 0.92, [3] = 0.91, [4] = 0.99 };   // seed 4 has no partner
        var baseline = new Dictionary<int, double> { [3] = 0.905, [1] = 0.89, [2] = 0.90 };

        var paired = PairedDifference.Of("relevance", "l2", method, baseline);

        // d = 0.01, 0.02, 0.005: mean 0.0116667, s = √((0.0016667² + 0.0083333² + 0.0066667²)/2) = 0.0076376,
        // half-width t_{0.975,2}·s/√3 = 4.3026527·0.0076376/1.7320508 = 0.0189729.
        Assert.Equal(3, paired.Pairs);
        Assert.Equal(0.011666666666666678, paired.Mean, 1e-15);
        Assert.Equal(0.00763762615825974, paired.Std, 1e-15);
        Assert.Equal(0.011666666666666678 - 0.018972915167983825, paired.Low, 1e-12);
        Assert.Equal(0.011666666666666678 + 0.018972915167983825, paired.High, 1e-12);
        Assert.False(paired.ExcludesZero);
    }

    [Fact]
    public void A_consistent_gain_excludes_zero_and_a_single_pair_has_no_interval()
    {
        var gain = PairedDifference.Of("a", "b", new Dictionary<int, double> { [1] = 0.905, [2] = 0.906, [3] = 0.907 },
            new Dictionary<int, double> { [1] = 0.900, [2] = 0.900, [3] = 0.900 });
        Assert.True(gain.ExcludesZero);
        Assert.True(gain.Low > 0);

        var one = PairedDifference.Of("a", "b", new Dictionary<int, double> { [1] = 0.91 }, new Dictionary<int, double> { [1] = 0.90 });
        Assert.Equal(0, one.Std);
        Assert.True(double.IsNaN(one.Low) && double.IsNaN(one.High));
        Assert.False(one.ExcludesZero);
    }

    [Fact]
    public void Paired_test_metrics_come_from_successful_runs_matched_by_seed()
    {
        ComparisonRun Run(string method, int seed, double test, string? failure = null) =>
            new(method, seed, 0.9, test, test, 0.01, 0.89, true, 1, failure);
        var runs = new[]
        {
            Run("relevance", 1, 0.91), Run("relevance", 2, 0.92), Run("relevance", 3, 0.50, failure: "diverged"),
            Run("none", 1, 0.90), Run("none", 2, 0.90), Run("none", 3, 0.90),
        };
        var paired = PairedDifference.OfTestMetric("relevance", "none", runs);
        Assert.Equal(2, paired.Pairs);
        Assert.Equal(0.015, paired.Mean, 1e-12);
        Assert.Equal(Math.Sqrt(2 * 0.005 * 0.005), paired.Std, 1e-12);
    }

    [Fact]
    public void Runs_on_different_CPUs_are_not_paired_and_runs_without_a_recorded_CPU_pair_as_before()
    {
        ComparisonRun Run(string method, int seed, double test, string? cpu) => new(method, seed, 0.9, test, test, 0.01, 0.89, true, 1) { Cpu = cpu };
        var runs = new[]
        {
            Run("relevance", 1, 0.91, "AMD EPYC"), Run("relevance", 2, 0.93, "Intel Xeon"), Run("relevance", 3, 0.92, null),
            Run("none", 1, 0.90, "AMD EPYC"), Run("none", 2, 0.90, "AMD EPYC"), Run("none", 3, 0.90, "AMD EPYC"),
        };
        var paired = PairedDifference.OfTestMetric("relevance", "none", runs);
        // Seed 2 ran on two CPUs and is left out; seed 3's relevance run predates the record.
        Assert.Equal(2, paired.Pairs);
        Assert.Equal(0.015, paired.Mean, 1e-12);
    }
}
