namespace Topiary.Comparison;

/// <summary>Mean and sample standard deviation (n − 1; 0 for a single run) per method.</summary>
public static class MethodStatistics
{
    /// <summary>One summary per method, in the order of <paramref name="methods"/>.</summary>
    public static IReadOnlyList<MethodSummary> Summarize(IReadOnlyList<string> methods, IReadOnlyList<ComparisonRun> runs) =>
        methods.Select(method =>
        {
            var mine = runs.Where(r => r.Method == method && r.Failure is null).ToList();
            var metric = mine.Select(r => r.TestMetric).ToList();
            var remaining = mine.Select(r => r.RemainingFraction).ToList();
            var bleu = mine.Where(r => r.TestBleu is not null).Select(r => r.TestBleu!.Value).ToList();
            return new MethodSummary(method, mine.Count, Mean(metric), Std(metric), Mean(remaining), Std(remaining),
                Mean(mine.Select(r => 1 / Math.Max(r.RemainingFraction, 1e-12)).ToList()), mine.Count(r => r.MetBound))
            {
                MeanTrajectory = Comparison.MeanTrajectory.Of(mine.Select(r => r.TestTrajectory).ToList()),
                TestBleu = bleu.Count > 0 && bleu.Count == mine.Count ? new MeanAndStd(Mean(bleu), Std(bleu)) : null,
            };
        }).ToList();

    /// <summary>Arithmetic mean (NaN when empty).</summary>
    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Sample standard deviation.</summary>
    public static double Std(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
