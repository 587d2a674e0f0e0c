using System.Globalization;
using System.Text;
using Topiary.IO;

namespace Topiary.Reporting;

/// <summary>
/// Writes a run's trajectory as CSV with the header
/// <c>step,epoch,prunable_remaining_fraction,val_METRIC,val_loss,train_loss,gamma,pruned</c>, where METRIC is the
/// run's metric (<c>val_accuracy</c>, <c>val_perplexity</c>).
/// Numbers use the invariant culture and the round-trippable <c>"R"</c> format (NaN and infinities as
/// <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>); <c>pruned</c> is <c>true</c> or <c>false</c>; lines end with <c>\n</c>.
/// </summary>
public static class TrajectoryCsv
{
    /// <summary>The header line (without the line break) for a run scored by <paramref name="metric"/>.</summary>
    public static string Header(MetricKind metric) => $"step,epoch,prunable_remaining_fraction,val_{metric.Name},val_loss,train_loss,gamma,pruned";

    /// <summary>Renders the header and one line per point.</summary>
    /// <param name="points">The trajectory, in order.</param>
    /// <param name="metric">The run's metric, which names the validation column.</param>
    /// <returns>The CSV text, ending with a line break.</returns>
    public static string Render(IReadOnlyList<TrajectoryPoint> points, MetricKind metric)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sb = new StringBuilder((points.Count + 1) * 96);
        sb.Append(Header(metric)).Append('\n');
        foreach (var p in points)
        {
            sb.Append(p.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Number(p.Epoch)).Append(',')
              .Append(Number(p.PrunableRemainingFraction)).Append(',')
              .Append(Number(p.Validation)).Append(',')
              .Append(Number(p.ValidationLoss)).Append(',')
              .Append(Number(p.TrainLoss)).Append(',')
              .Append(Number(p.Gamma)).Append(',')
              .Append(p.Pruned ? "true" : "false").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/>'s output to <paramref name="path"/> atomically.</summary>
    /// <param name="points">The trajectory, in order.</param>
    /// <param name="metric">The run's metric, which names the validation column.</param>
    /// <param name="path">Target file; its directory is created if missing.</param>
    public static void Write(IReadOnlyList<TrajectoryPoint> points, MetricKind metric, string path) =>
        AtomicFile.WriteAllText(path, Render(points, metric));

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
