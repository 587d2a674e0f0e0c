using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Topiary.IO;

namespace Topiary.Reporting;

/// <summary>
/// Renders a <see cref="RunReport"/> as a human-readable markdown document (<c>report.md</c>):
/// settings, backend, dense versus final metrics, the selection, per-layer sparsity, the trajectory and timing.
/// Accuracies and remaining fractions are stored as fractions in [0, 1] and shown as percentages. "Remaining" is the
/// non-zero share of all the model's parameters; "prunable remaining" that of the prunable ones (what the method prunes).
/// All numbers use the invariant culture.
/// </summary>
public static class ReportMarkdown
{
    /// <summary>Trajectories longer than this are thinned to every k-th row plus the last.</summary>
    public const int MaxTrajectoryRows = 60;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Renders the report as markdown.</summary>
    /// <param name="report">The report.</param>
    /// <returns>The markdown text, ending with a line break.</returns>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder(8192);

        sb.Append("# Topiary run report: ").Append(Escape(report.Model)).Append(" on ").Append(Escape(report.Dataset.Name))
          .Append(" (").Append(Escape(report.Method)).Append(")\n\n");

        // Settings
        sb.Append("## Settings\n\n");
        sb.Append("| Setting | Value |\n|---|---|\n");
        Row(sb, "Model", Code(report.Model));
        Row(sb, "Dataset", $"{Escape(report.Dataset.Name)} ({Code(report.Dataset.Directory)})");
        Row(sb, "Split (train / val / test)",
            $"{Int(report.Dataset.TrainCount)} / {Int(report.Dataset.ValidationCount)} / {Int(report.Dataset.TestCount)}");
        Row(sb, "Method", Code(report.Method));
        Row(sb, "Seed", report.Seed.ToString(Inv));
        foreach (var (key, value) in report.Hyperparameters)
        {
            Row(sb, Code(key), Escape(FormatValue(value)));
        }
        Row(sb, "Topiary version", Escape(report.ToolVersion));
        sb.Append('\n');

        var b = report.Backend;
        sb.Append("**Backend:** libtorch ").Append(Escape(b.TorchVersion))
          .Append(", ").Append(Escape(b.OneDnnNote ?? (b.OneDnnEnabled ? "oneDNN on" : "oneDNN off")))
          .Append(", ").Append(b.Threads.ToString(Inv)).Append(b.Threads == 1 ? " thread" : " threads")
          .Append(", self-check: ").Append(Escape(b.SelfCheck))
          .Append(" (conv relative error ").Append(b.ConvGradRelativeError.ToString("G3", Inv)).Append(')');
        if (b.Kernels is not null) sb.Append(", kernels ").Append(Escape(b.Kernels));
        if (b.Cpu is not null) sb.Append(", CPU ").Append(Escape(b.Cpu));
        sb.Append(".\n\n");

        // Dense vs final
        var d = report.Dense;
        var f = report.Final;
        sb.Append("## Result\n\n");
        sb.Append("| | Dense | Final |\n|---|---:|---:|\n");
        // Accuracy is a fraction shown as a percentage; another metric (perplexity) is shown as it is.
        var metric = report.Metric.Name;
        string MetricValue(double v) => double.IsFinite(v) ? report.Metric.Format(v) : Fixed(v, "F3");
        Row(sb, $"Validation {metric}", MetricValue(d.Validation), MetricValue(f.Validation));
        Row(sb, $"Test {metric}", MetricValue(d.Test), MetricValue(f.Test));
        Row(sb, "Total parameters", Long(d.TotalParams), Long(f.TotalParams));
        Row(sb, "Non-zero parameters", Long(d.TotalParams), Long(f.NonzeroParams));
        Row(sb, "Remaining (of all parameters)", Pct(1.0), Pct(f.RemainingFraction));
        Row(sb, "Prunable remaining (of the prunable ones)", Pct(1.0), Pct(f.PrunableRemainingFraction));
        Row(sb, "Compression", Ratio(1.0), Ratio(f.CompressionRatio));
        sb.Append('\n');
        sb.Append("Selected the checkpoint of step ").Append(Long(f.Step)).Append(". ")
          .Append(Escape(report.Selection.Trim())).Append("\n\n");

        // Recoveries from divergence (only when there were any)
        if (report.Divergences.Count > 0)
        {
            sb.Append("## Divergences\n\n| Step | Cause | Rolled back to step | New learning rate |\n|---:|---|---:|---:|\n");
            foreach (var e in report.Divergences)
                Row(sb, Long(e.Step), Escape(e.Cause), Long(e.RolledBackToStep), Fixed(e.LearningRate, "G4"));
            sb.Append('\n');
        }

        // Layers
        sb.Append("## Layers\n\n");
        if (report.Layers.Count == 0)
        {
            sb.Append("_No prunable layers were reported._\n\n");
        }
        else
        {
            sb.Append("| Layer | Shape | Total | Non-zero | Remaining |\n|---|---|---:|---:|---:|\n");
            foreach (var layer in report.Layers)
            {
                var shape = layer.Shape.Count == 0 ? "scalar" : string.Join(" × ", layer.Shape.Select(s => s.ToString(Inv)));
                Row(sb, Code(layer.Name), shape, Long(layer.Total), Long(layer.Nonzero), Pct(layer.RemainingFraction));
            }
            sb.Append('\n');
        }

        if (report.Cost is { } cost) AppendCost(sb, cost);
        ReportSectionsMarkdown.AppendSections(sb, report);

        // Trajectory
        sb.Append("## Trajectory\n\n");
        var points = report.Trajectory;
        if (points.Count == 0)
        {
            sb.Append("_No evaluations were recorded._\n\n");
        }
        else
        {
            var stride = points.Count > MaxTrajectoryRows ? (points.Count + MaxTrajectoryRows - 1) / MaxTrajectoryRows : 1;
            if (stride > 1)
            {
                sb.Append("Showing every ").Append(Ordinal(stride)).Append(" of ").Append(Int(points.Count))
                  .Append(" evaluations, plus the last; the full trajectory is in `report.json` and `trajectory.csv`.\n\n");
            }
            sb.Append("| Step | Epoch | Prunable remaining | Val ").Append(metric).Append(" | Val loss | Train loss | γ | Pruned |\n")
              .Append("|---:|---:|---:|---:|---:|---:|---:|:---:|\n");
            for (var i = 0; i < points.Count; i++)
            {
                if (i % stride != 0 && i != points.Count - 1)
                {
                    continue;
                }
                var p = points[i];
                Row(sb, Long(p.Step), Fixed(p.Epoch, "F2"), Pct(p.PrunableRemainingFraction), MetricValue(p.Validation),
                    Fixed(p.ValidationLoss, "F4"), Fixed(p.TrainLoss, "F4"), Fixed(p.Gamma, "G4"), p.Pruned ? "yes" : "");
            }
            sb.Append('\n');
        }

        // Timing
        var t = report.Timing;
        sb.Append("## Timing\n\n");
        sb.Append("Total ").Append(Seconds(t.SecondsTotal))
          .Append(" (dense training ").Append(Seconds(t.DenseSeconds))
          .Append(", pruning ").Append(Seconds(t.PruneSeconds))
          .Append("); median training step ").Append(Fixed(t.StepMsMedian, "F2")).Append(" ms.");
        if (t.EvaluationSeconds > 0 || t.CheckpointSeconds > 0)
            sb.Append(" Of the run, validation took ").Append(Seconds(t.EvaluationSeconds))
              .Append(" and checkpoints ").Append(Seconds(t.CheckpointSeconds))
              .Append(" (").Append(Percent.Of((t.EvaluationSeconds + t.CheckpointSeconds) / Math.Max(t.SecondsTotal, 1e-9))).Append(" together).");
        sb.Append('\n');

        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/>'s output to <paramref name="path"/> atomically.</summary>
    /// <param name="report">The report.</param>
    /// <param name="path">Target file, usually <c>report.md</c>; its directory is created if missing.</param>
    public static void Write(RunReport report, string path) => AtomicFile.WriteAllText(path, Render(report));

    // Size and compute of the selected model (issue 3): per layer, then the network.
    private static void AppendCost(StringBuilder sb, NetworkCost cost)
    {
        sb.Append("## Size and compute\n\n");
        sb.Append("| Layer | Type | Total | Non-zero | Remaining | Compression | Alive units | Dense MACs | MACs left |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var l in cost.Layers)
            Row(sb, Code(l.Name), l.Type, Long(l.Total), Long(l.Nonzero), Pct(l.RemainingFraction), Ratio(l.CompressionRatio),
                $"{Long(l.AliveUnits)} / {Long(l.Units)}", Long(l.DenseMacs), Long(l.RemainingMacs));
        Row(sb, "**network**", "", Long(cost.Total), Long(cost.Nonzero), Pct(cost.RemainingFraction), Ratio(cost.CompressionRatio),
            $"{Long(cost.AliveUnits)} / {Long(cost.Units)}", Long(cost.DenseMacs), Long(cost.RemainingMacs));
        sb.Append("\nMACs are multiply-accumulates per sample; \"MACs left\" counts non-zero weights only. Network totals include every parameter.\n\n");
    }

    private static void Row(StringBuilder sb, params string[] cells)
    {
        sb.Append('|');
        foreach (var cell in cells)
        {
            sb.Append(' ').Append(cell).Append(" |");
        }
        sb.Append('\n');
    }

    private static string Pct(double fraction) =>
        double.IsFinite(fraction) ? (fraction * 100.0).ToString("F2", Inv) + "%" : "n/a";

    private static string Ratio(double ratio) =>
        double.IsPositiveInfinity(ratio) ? "∞×"
        : double.IsFinite(ratio) ? ratio.ToString(ratio >= 100 ? "F0" : "F1", Inv) + "×"
        : "n/a";

    private static string Fixed(double value, string format) =>
        double.IsNaN(value) ? "NaN" : value.ToString(format, Inv);

    private static string Seconds(double seconds) =>
        !double.IsFinite(seconds) ? "n/a"
        : seconds >= 3600 ? $"{(seconds / 3600).ToString("F2", Inv)} h"
        : seconds >= 120 ? $"{(seconds / 60).ToString("F1", Inv)} min"
        : $"{seconds.ToString("F1", Inv)} s";

    private static string Long(long value) => value.ToString("N0", Inv);

    private static string Int(int value) => value.ToString("N0", Inv);

    private static string Ordinal(int n)
    {
        var suffix = (n % 100) is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };
        return n.ToString(Inv) + suffix;
    }

    private static string Code(string text) => "`" + text.Replace("`", "'", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal) + "`";

    /// <summary>Escapes characters that would break a table row or a single line.</summary>
    private static string Escape(string text) =>
        text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string FormatValue(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool v => v ? "true" : "false",
        double v => v.ToString("R", Inv),
        float v => v.ToString("R", Inv),
        JsonElement e => FormatJson(e),
        IFormattable v => v.ToString(null, Inv),
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(FormatValue)) + "]",
        _ => value.ToString() ?? "",
    };

    private static string FormatJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString() ?? "",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null or JsonValueKind.Undefined => "null",
        JsonValueKind.Array => "[" + string.Join(", ", e.EnumerateArray().Select(FormatJson)) + "]",
        _ => e.GetRawText(),
    };
}
