using Topiary.Reporting;

namespace Topiary.Comparison;

/// <summary>The seed-mean of a method's test metric at one remaining fraction.</summary>
/// <param name="RemainingFraction">Non-zero / total parameters.</param>
/// <param name="TestMetricMean">Mean over the seeds of the test metric there.</param>
public sealed record TrajectoryLevel(double RemainingFraction, double TestMetricMean);

/// <summary>
/// One curve per method from its seeds' test trajectories (<see cref="RunReport.TestTrajectory"/>). The
/// levels are the union of the seeds' remaining fractions over the range every seed covers (from the
/// largest of their final fractions up to the smallest of their first ones); at each level every seed's
/// trajectory is interpolated linearly in log(remaining) and the values are averaged. Methods whose seeds
/// prune to the same levels (the iterative rule: (1 − t)^k) thus get the plain mean at each level; methods
/// whose levels differ (LOBSTER's bisection) get a mean of interpolated values, never an extrapolated one.
/// </summary>
public static class MeanTrajectory
{
    /// <summary>The mean curve, from the largest remaining fraction to the smallest; empty when the seeds share no range.</summary>
    public static IReadOnlyList<TrajectoryLevel> Of(IReadOnlyList<IReadOnlyList<TestPoint>> trajectories)
    {
        var runs = trajectories.Where(t => t.Count > 0).ToList();
        if (runs.Count == 0) return [];
        var high = runs.Min(t => t.Max(p => p.RemainingFraction));
        var low = runs.Max(t => t.Min(p => p.RemainingFraction));
        if (low > high) return [];
        var levels = runs.SelectMany(t => t.Select(p => p.RemainingFraction)).Where(r => r >= low && r <= high)
            .Distinct().OrderDescending().ToList();
        return levels.Select(level => new TrajectoryLevel(level, runs.Average(t => At(t, level)))).ToList();
    }

    /// <summary>
    /// The mean curve's value at <paramref name="remaining"/> (interpolated in log(remaining) as in <see cref="At"/>),
    /// or null where the curve does not reach: methods are compared at equal sparsity only inside what they measured.
    /// </summary>
    public static double? AtLevel(IReadOnlyList<TrajectoryLevel> curve, double remaining)
    {
        if (curve.Count == 0 || remaining > curve.Max(l => l.RemainingFraction) || remaining < curve.Min(l => l.RemainingFraction)) return null;
        return At(curve.Select(l => new TestPoint(0, l.RemainingFraction, l.TestMetricMean)).ToList(), remaining);
    }

    /// <summary>The trajectory's metric at <paramref name="remaining"/>, interpolated in log(remaining) between its two nearest points.</summary>
    public static double At(IReadOnlyList<TestPoint> trajectory, double remaining)
    {
        var points = trajectory.OrderByDescending(p => p.RemainingFraction).ToList();
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].RemainingFraction == remaining) return points[i].TestMetric;
            if (i == 0 || points[i].RemainingFraction > remaining) continue;
            var (upper, lower) = (points[i - 1], points[i]);
            var w = Math.Log(upper.RemainingFraction / remaining) / Math.Log(upper.RemainingFraction / lower.RemainingFraction);
            return upper.TestMetric + w * (lower.TestMetric - upper.TestMetric);
        }
        throw new ArgumentOutOfRangeException(nameof(remaining), remaining, "outside the trajectory's range");
    }
}
