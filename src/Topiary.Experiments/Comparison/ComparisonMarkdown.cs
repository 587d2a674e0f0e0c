using System.Globalization;
using System.Text;
using Topiary.IO;

namespace Topiary.Comparison;

/// <summary>
/// Renders <c>comparison.md</c>: mean ± std of the test metric (accuracy or perplexity, as the report says)
/// and remaining parameters per method, the difference to the flagship (<c>relevance</c>) when it took part,
/// and every run.
/// </summary>
public static class ComparisonMarkdown
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The summary table alone (also printed by the CLI and quoted in the README).</summary>
    public static string SummaryTable(ComparisonReport report)
    {
        var metric = report.Metric;
        var flagship = report.Summaries.FirstOrDefault(s => s.Method == "relevance");
        var sb = new StringBuilder();
        var bleu = report.Summaries.Any(s => s.TestBleu is not null);
        sb.Append($"| Method | Runs | Test {metric.Name} |");
        if (bleu) sb.Append(" Test BLEU |");
        sb.Append(" Remaining | Compression | At bound |");
        if (flagship is not null) sb.Append($" Δ test {metric.Name} vs relevance | Remaining vs relevance |");
        sb.Append('\n').Append("|---|---:|---:|").Append(bleu ? "---:|" : "").Append("---:|---:|---:|");
        if (flagship is not null) sb.Append("---:|---:|");
        sb.Append('\n');
        foreach (var s in report.Summaries)
        {
            sb.Append($"| {s.Method} | {s.Runs} | {metric.Format(s.TestMetricMean)} ± {metric.FormatSpread(s.TestMetricStd)} |");
            if (bleu) sb.Append(s.TestBleu is { } b ? $" {b.Mean.ToString("F2", Inv)} ± {b.Std.ToString("F2", Inv)} |" : " — |");
            sb.Append($" {Pct(s.RemainingMean)} ± {Pts(s.RemainingStd)} | {s.CompressionMean.ToString("F1", Inv)}× | {s.RunsMeetingBound}/{s.Runs} |");
            if (flagship is not null)
                sb.Append(s == flagship ? " — | — |" : $" {metric.FormatDifference(s.TestMetricMean - flagship.TestMetricMean)} | {(s.RemainingMean / flagship.RemainingMean).ToString("F2", Inv)}× |");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// One line per method whose selection kept the dense model in some runs (no pruned model met the bound, so the run
    /// reports 100 % remaining and "at bound"), saying so and what to change; null when there is none. The summary's
    /// numbers for such a method are the dense model's, not a pruned one's.
    /// </summary>
    public static string? UnprunedSelections(ComparisonReport report)
    {
        var bound = report.Metric.HigherIsBetter ? "floor" : "ceiling";
        var lines = report.Methods
            .Select(method => (Method: method, Runs: report.Runs.Where(r => r.Method == method && r.Failure is null).ToList()))
            .Select(m => (m.Method, m.Runs.Count, Dense: m.Runs.Count(r => r.RemainingFraction >= 1 - 1e-9)))
            .Where(m => m.Dense > 0)
            .Select(m => $"- {m.Method}: in {m.Dense} of {m.Count} runs no pruned model met the bound, so the selection kept the dense model; its row describes that model. Loosen the {bound} or lengthen the pruning budget to compare it pruned.")
            .ToList();
        return lines.Count == 0 ? null : string.Join("\n", lines) + "\n";
    }

    /// <summary>Remaining fractions at which <see cref="MatchedTable"/> compares the methods.</summary>
    public static IReadOnlyList<double> MatchedLevels { get; } = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01];

    /// <summary>
    /// The seed-mean test metric of every method at the same remaining fractions, read off its mean test
    /// trajectory (<see cref="MeanTrajectory.AtLevel"/>; "—" where the method did not prune that far or started
    /// below it). Unlike the summary, which compares each method's own selected model, this compares at equal size.
    /// Null when no level is reached by any method.
    /// </summary>
    public static string? MatchedTable(ComparisonReport report)
    {
        var levels = MatchedLevels.Where(l => report.Summaries.Any(s => MeanTrajectory.AtLevel(s.MeanTrajectory, l) is not null)).ToList();
        if (levels.Count == 0) return null;
        var metric = report.Metric;
        var sb = new StringBuilder();
        sb.Append("| Method |").Append(string.Concat(levels.Select(l => $" at {Pct(l)} |"))).Append('\n');
        sb.Append("|---|").Append(string.Concat(levels.Select(_ => "---:|"))).Append('\n');
        foreach (var s in report.Summaries)
        {
            sb.Append($"| {s.Method} |");
            foreach (var level in levels)
                sb.Append(MeanTrajectory.AtLevel(s.MeanTrajectory, level) is { } v ? $" {metric.Format(v)} |" : " — |");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The size-for-size protocol as a table: per size, each method's test metric after the crop and the same fine-tuning
    /// (mean ± std over the seeds that reached the size, with how many did), and its paired difference against
    /// <c>none</c> and <c>l2</c>. Null when the comparison did not use the protocol.
    /// </summary>
    public static string? SizeTable(ComparisonReport report)
    {
        if (report.SizeSummaries is not { Count: > 0 } summaries) return null;
        var metric = report.Metric;
        var baselines = (report.SizePaired ?? []).Select(d => d.Difference.Baseline).Distinct().ToList();
        var sb = new StringBuilder($"| Remaining | Method | Reached | Test {metric.Name} |");
        foreach (var baseline in baselines) sb.Append($" vs {baseline} (95 % interval) |");
        sb.Append("\n|---:|---|---:|---:|").Append(string.Concat(baselines.Select(_ => "---|"))).Append('\n');
        foreach (var s in summaries)
        {
            var value = s.Reached == 0 ? "—" : $"{metric.Format(s.TestMetricMean)} ± {metric.FormatSpread(s.TestMetricStd)}";
            sb.Append($"| {Pct(s.Size)} | {s.Method} | {s.Reached}/{s.Runs} | {value} |");
            foreach (var baseline in baselines)
            {
                var d = report.SizePaired!.FirstOrDefault(p => p.Size == s.Size && p.Difference.Method == s.Method && p.Difference.Baseline == baseline)?.Difference;
                sb.Append(d is null ? " — |" : d.Pairs < 2 ? $" {metric.FormatDifference(d.Mean)} (one seed) |"
                    : $" {metric.FormatDifference(d.Mean)} ({metric.FormatDifference(d.Low)} … {metric.FormatDifference(d.High)}){(d.ExcludesZero ? " resolved" : "")} |");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The whole document.</summary>
    public static string Render(ComparisonReport report)
    {
        var metric = report.Metric;
        var bound = metric.HigherIsBetter ? "floor" : "ceiling";
        var sb = new StringBuilder();
        sb.Append($"# Comparison: {report.Model}, {report.Methods.Count} methods × {report.Seeds.Count} seeds\n\n");
        sb.Append($"Topiary {report.ToolVersion}; data `{report.Dataset}`; seeds {string.Join(", ", report.Seeds)}; {report.SecondsTotal.ToString("F0", Inv)} s in all.\n\n");
        if (report.Backend is { } b)
            sb.Append($"Backend: libtorch {b.TorchVersion}, {b.OneDnnNote ?? (b.OneDnnEnabled ? "oneDNN on" : "oneDNN off")}, {b.Threads} threads, conv self-check {b.SelfCheck}, CPU {b.Cpu ?? "unknown"}.\n\n");
        var cpus = report.Runs.Select(r => r.Cpu).OfType<string>().Distinct().ToList();
        if (cpus.Count > 1)
            sb.Append($"**The runs ran on {cpus.Count} CPUs** ({string.Join("; ", cpus.Select(c => $"{c}: {report.Runs.Count(r => r.Cpu == c)} runs"))}); results differ between CPUs, so only runs of one CPU are paired.\n\n");
        if (!report.Complete) sb.Append($"**Partial: {report.Runs.Count} of {report.Methods.Count * report.Seeds.Count} runs so far.**\n\n");
        sb.Append($"Metric: test {metric.Name} ({metric.DirectionText}). ");
        sb.Append("Every method starts from the same dense model per seed and has the same pruning budget, bound and checkpoint selection ");
        sb.Append($"(the fewest remaining parameters whose validation {metric.Name} meets the {bound}). Test {metric.Name} and remaining parameters are mean ± sample std over the seeds; ");
        sb.Append("remaining counts every parameter of the model. \"Remaining vs relevance\" > 1 means the method keeps more parameters than the flagship. ");
        sb.Append($"`comparison.json` also holds each run's test {metric.Name} right before every pruning event (reporting only: the test split is never used to prune or select).\n\n");
        sb.Append(SummaryTable(report)).Append('\n');
        if (UnprunedSelections(report) is { } unpruned) sb.Append(unpruned).Append('\n');
        if (MatchedTable(report) is { } matched)
        {
            sb.Append($"## At equal size\n\nSeed-mean test {metric.Name} right before the pruning events, interpolated in log(remaining) to the same remaining fractions; ");
            sb.Append("these are the models each method had trained at that size, whether or not it went on to prune further.\n\n");
            sb.Append(matched).Append('\n');
        }
        if (SizeTable(report) is { } sizes)
        {
            sb.Append($"## Size for size\n\nThe size-for-size protocol: whenever a pruning event crossed one of these sizes, the model right before it was cropped by global magnitude to exactly that size, ");
            sb.Append("fine-tuned for the same steps with its regularizer off and its mask fixed (Adam), and measured. Every method gets the same crop rule and fine-tuning; what differs is the weights its trajectory left. ");
            sb.Append($"Test {metric.Name}: mean ± std over the seeds that reached the size; differences: paired by seed, mean and 95 % Student-t interval. The bound was lifted for this protocol.\n\n");
            sb.Append(sizes).Append('\n');
        }
        if (PairedTable(report) is { } paired)
        {
            sb.Append($"## Paired by seed\n\nEach method's final test {metric.Name} minus the baseline's on the same seed (the same dense model and batches), ");
            sb.Append("mean and 95 % Student-t interval over the seeds; \"resolved\" when the interval excludes 0. The final models differ in size: ");
            sb.Append("read this beside the remaining parameters above. A seed's two runs are paired only when they ran on the same CPU (each run's `cpu`).\n\n");
            sb.Append(paired).Append('\n');
        }
        sb.Append($"## Runs\n\n| Method | Seed | Dense test | Validation | Test | Remaining | Validation {bound} | Met | Seconds |\n|---|---:|---:|---:|---:|---:|---:|---|---:|\n");
        foreach (var r in report.Runs)
            sb.Append($"| {r.Method} | {r.Seed} | {metric.Format(r.DenseTestMetric)} | {metric.Format(r.ValMetric)} | {metric.Format(r.TestMetric)} | {Pct(r.RemainingFraction)} | {metric.Format(r.Bound)} | {(r.MetBound ? "yes" : "no")} | {r.Seconds.ToString("F0", Inv)} |\n");
        sb.Append("\n## Settings\n\n| Setting | Value |\n|---|---|\n");
        foreach (var (key, value) in report.Settings) sb.Append($"| `{key}` | {Convert.ToString(value, Inv)} |\n");
        return sb.ToString();
    }

    /// <summary>The paired differences against the baselines as a Markdown table, or null when there are none.</summary>
    public static string? PairedTable(ComparisonReport report)
    {
        if (report.Paired.Count == 0) return null;
        var metric = report.Metric;
        var sb = new StringBuilder("| Method | Baseline | Seeds | Mean difference | 95 % interval | Resolved |\n|---|---|---:|---:|---|---|\n");
        foreach (var d in report.Paired)
        {
            var interval = d.Pairs < 2 ? "n/a (one seed)" : $"{metric.FormatDifference(d.Low)} … {metric.FormatDifference(d.High)}";
            sb.Append($"| {d.Method} | {d.Baseline} | {d.Pairs} | {metric.FormatDifference(d.Mean)} | {interval} | {(d.ExcludesZero ? "yes" : "no")} |\n");
        }
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/> atomically.</summary>
    public static void Write(ComparisonReport report, string path) => AtomicFile.WriteAllText(path, Render(report));

    private static string Pct(double fraction) => (100 * fraction).ToString("F2", Inv) + "%";
    private static string Pts(double fraction) => (100 * fraction).ToString("F2", Inv);
}
