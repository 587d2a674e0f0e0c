namespace Topiary.Comparison;

/// <summary>
/// The difference of a metric between two methods run on the same seeds: the mean of the per-seed differences
/// d_i = method_i − baseline_i, their sample standard deviation s, and the 95 % Student-t interval
/// mean ± t_{0.975, n−1}·s/√n. Pairing removes what a seed does to both methods alike (its dense model, its batches),
/// so the interval is narrower than one from the two means apart. Pair runs of one CPU kind only: kernels differ
/// between CPUs and so do results.
/// </summary>
/// <param name="Method">The method.</param>
/// <param name="Baseline">What it is compared with (<c>none</c>, <c>l2</c>).</param>
/// <param name="Pairs">Seeds both have a value for.</param>
/// <param name="Mean">Mean difference (method − baseline).</param>
/// <param name="Std">Sample standard deviation of the differences (n − 1); 0 for one pair.</param>
/// <param name="Low">Lower end of the 95 % interval; NaN with fewer than two pairs.</param>
/// <param name="High">Upper end of the 95 % interval; NaN with fewer than two pairs.</param>
public sealed record PairedDifference(string Method, string Baseline, int Pairs, double Mean, double Std, double Low, double High)
{
    /// <summary>The confidence level of <see cref="Low"/>..<see cref="High"/>.</summary>
    public const double Confidence = 0.95;

    /// <summary>Whether the interval lies wholly on one side of 0: the difference is resolved at 95 %.</summary>
    public bool ExcludesZero => Low > 0 || High < 0;

    /// <summary>
    /// Pairs <paramref name="method"/>'s and <paramref name="baseline"/>'s values by seed (seeds only one of them has are left out).
    /// </summary>
    /// <param name="methodName">The method's name.</param>
    /// <param name="baselineName">The baseline's name.</param>
    /// <param name="method">The method's value per seed.</param>
    /// <param name="baseline">The baseline's value per seed.</param>
    public static PairedDifference Of(string methodName, string baselineName, IReadOnlyDictionary<int, double> method, IReadOnlyDictionary<int, double> baseline)
    {
        var differences = method.Keys.Where(baseline.ContainsKey).Order().Select(seed => method[seed] - baseline[seed]).ToList();
        var n = differences.Count;
        var mean = MethodStatistics.Mean(differences);
        var std = MethodStatistics.Std(differences);
        var halfWidth = n < 2 ? double.NaN : StudentT.Quantile(1 - (1 - Confidence) / 2, n - 1) * std / Math.Sqrt(n);
        return new PairedDifference(methodName, baselineName, n, mean, std, mean - halfWidth, mean + halfWidth);
    }

    /// <summary>
    /// The paired difference of the test metric between <paramref name="methodName"/> and <paramref name="baselineName"/>
    /// over the successful runs of <paramref name="runs"/>.
    /// </summary>
    public static PairedDifference OfTestMetric(string methodName, string baselineName, IReadOnlyList<ComparisonRun> runs) =>
        OfRuns(methodName, baselineName, runs, r => r.TestMetric);

    /// <summary>
    /// Pairs the successful runs of <paramref name="methodName"/> and <paramref name="baselineName"/> by seed, on
    /// <paramref name="value"/> (null: the run has none), keeping only the seeds whose two runs ran on the same CPU
    /// (<see cref="ComparisonRun.Cpu"/>; runs of older reports, which do not record it, pair as before).
    /// </summary>
    public static PairedDifference OfRuns(string methodName, string baselineName, IReadOnlyList<ComparisonRun> runs, Func<ComparisonRun, double?> value)
    {
        Dictionary<int, ComparisonRun> BySeed(string name) =>
            runs.Where(r => r.Method == name && r.Failure is null && value(r) is not null).GroupBy(r => r.Seed).ToDictionary(g => g.Key, g => g.First());
        var (method, baseline) = (BySeed(methodName), BySeed(baselineName));
        var sameCpu = method.Keys.Where(seed => baseline.TryGetValue(seed, out var other) && SameCpu(method[seed], other)).ToHashSet();
        return Of(methodName, baselineName,
            method.Where(p => sameCpu.Contains(p.Key)).ToDictionary(p => p.Key, p => value(p.Value)!.Value),
            baseline.Where(p => sameCpu.Contains(p.Key)).ToDictionary(p => p.Key, p => value(p.Value)!.Value));
    }

    private static bool SameCpu(ComparisonRun a, ComparisonRun b) => a.Cpu is null || b.Cpu is null || a.Cpu == b.Cpu;
}
