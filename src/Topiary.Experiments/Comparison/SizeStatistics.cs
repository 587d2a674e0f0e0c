namespace Topiary.Comparison;

/// <summary>One method at one size of the size-for-size protocol (<see cref="Topiary.Training.SizeProtocol"/>), over the seeds.</summary>
/// <param name="Size">The target remaining fraction.</param>
/// <param name="Method">The method.</param>
/// <param name="Runs">Its successful runs.</param>
/// <param name="Reached">How many of them reached the size (the means are over these).</param>
/// <param name="TestMetricMean">Mean test metric after the crop and the fine-tuning.</param>
/// <param name="TestMetricStd">Its sample standard deviation.</param>
/// <param name="ValMetricMean">Mean validation metric after the fine-tuning.</param>
public sealed record SizeSummary(double Size, string Method, int Runs, int Reached, double TestMetricMean, double TestMetricStd, double ValMetricMean);

/// <summary>A paired difference (<see cref="PairedDifference"/>) of the test metric at one size of the protocol.</summary>
/// <param name="Size">The target remaining fraction.</param>
/// <param name="Difference">The method against the baseline, paired by seed over the seeds where both reached the size.</param>
public sealed record SizePairedDifference(double Size, PairedDifference Difference);

/// <summary>The size-for-size protocol's results of a comparison: per size and method, and paired against the baselines.</summary>
public static class SizeStatistics
{
    /// <summary>The sizes any run measured, largest first; empty when the comparison did not use the protocol.</summary>
    public static IReadOnlyList<double> Sizes(IReadOnlyList<ComparisonRun> runs) =>
        runs.Where(r => r.Sizes is not null).SelectMany(r => r.Sizes!).Select(s => s.Target).Distinct().OrderDescending().ToList();

    /// <summary>One summary per size and method (sizes largest first, methods in order), or null without the protocol.</summary>
    public static IReadOnlyList<SizeSummary>? Summarize(IReadOnlyList<string> methods, IReadOnlyList<ComparisonRun> runs)
    {
        if (runs.All(r => r.Sizes is null)) return null;
        return Sizes(runs).SelectMany(size => methods.Select(method =>
        {
            var mine = runs.Where(r => r.Method == method && r.Failure is null).ToList();
            var reached = mine.Select(r => r.Sizes?.FirstOrDefault(s => s.Target == size)).OfType<Reporting.SizeResult>().ToList();
            var test = reached.Select(s => s.TestMetric).ToList();
            return new SizeSummary(size, method, mine.Count, reached.Count, MethodStatistics.Mean(test), MethodStatistics.Std(test),
                MethodStatistics.Mean(reached.Select(s => s.ValidationMetric).ToList()));
        })).ToList();
    }

    /// <summary>
    /// At every size, each method against each baseline it is compared with, paired by seed over the seeds where both
    /// reached the size on the same CPU; null without the protocol.
    /// </summary>
    public static IReadOnlyList<SizePairedDifference>? Paired(IReadOnlyList<string> methods, IReadOnlyList<string> baselines, IReadOnlyList<ComparisonRun> runs)
    {
        if (runs.All(r => r.Sizes is null)) return null;
        return Sizes(runs).SelectMany(size => baselines.Where(methods.Contains).SelectMany(baseline => methods.Where(m => m != baseline)
                .Select(method => new SizePairedDifference(size,
                    PairedDifference.OfRuns(method, baseline, runs, r => r.Sizes?.FirstOrDefault(s => s.Target == size)?.TestMetric)))))
            .Where(d => d.Difference.Pairs > 0).ToList();
    }
}
