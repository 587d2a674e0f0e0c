using System.Globalization;
using System.Text;
using Topiary.IO;

namespace Topiary.Reporting;

/// <summary>
/// Writes a run's trajectory as CSV with the header
/// <c>step,epoch,remaining_fraction,val_accuracy,val_loss,train_loss,gamma,pruned</c>.
/// Numbers use the invariant culture and the round-trippable <c>"R"</c> format (NaN and infinities as
/// <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>); <c>pruned</c> is <c>true</c> or <c>false</c>; lines end with <c>\n</c>.
/// </summary>
public static class TrajectoryCsv
{
    /// <summary>The header line (without the line break).</summary>
    public const string Header = "step,epoch,remaining_fraction,val_accuracy,val_loss,train_loss,gamma,pruned";

    /// <summary>Renders the header and one line per point.</summary>
    /// <param name="points">The trajectory, in order.</param>
    /// <returns>The CSV text, ending with a line break.</returns>
    public static string Render(IReadOnlyList<TrajectoryPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sb = new StringBuilder((points.Count + 1) * 96);
        sb.Append(Header).Append('\n');
        foreach (var p in points)
        {
            sb.Append(p.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Number(p.Epoch)).Append(',')
              .Append(Number(p.RemainingFraction)).Append(',')
              .Append(Number(p.ValAccuracy)).Append(',')
              .Append(Number(p.ValLoss)).Append(',')
              .Append(Number(p.TrainLoss)).Append(',')
              .Append(Number(p.Gamma)).Append(',')
              .Append(p.Pruned ? "true" : "false").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/>'s output to <paramref name="path"/> atomically.</summary>
    /// <param name="points">The trajectory, in order.</param>
    /// <param name="path">Target file; its directory is created if missing.</param>
    public static void Write(IReadOnlyList<TrajectoryPoint> points, string path) =>
        AtomicFile.WriteAllText(path, Render(points));

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
