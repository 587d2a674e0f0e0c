using System.Globalization;
using System.Text;

namespace Topiary.Reporting;

/// <summary>The sections of <c>report.md</c> that only language-model runs have: sparsity per part of the model, and generated samples.</summary>
internal static class LanguageReportMarkdown
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void AppendSections(StringBuilder sb, RunReport report)
    {
        if (report.LayerGroups is { Count: > 0 } groups)
        {
            sb.Append("## Parts of the model\n\n| Part | Total | Non-zero | Remaining |\n|---|---:|---:|---:|\n");
            foreach (var g in groups)
                sb.Append("| ").Append(g.Group).Append(" | ").Append(g.Total.ToString("N0", Inv)).Append(" | ").Append(g.Nonzero.ToString("N0", Inv))
                  .Append(" | ").Append((100 * g.RemainingFraction).ToString("F2", Inv)).Append("% |\n");
            sb.Append('\n');
        }
        if (report.Samples is { Count: > 0 } samples)
        {
            sb.Append("## Samples\n\n");
            foreach (var s in samples)
            {
                sb.Append("**").Append(s.Model).Append("** (temperature ").Append(s.Temperature.ToString("0.##", Inv))
                  .Append(", seed ").Append(s.Seed.ToString(Inv)).Append("), prompt `").Append(s.Prompt.Replace("`", "'", StringComparison.Ordinal)).Append("`:\n\n");
                // An indented block keeps generated text from being read as markdown.
                foreach (var line in s.Text.Split('\n')) sb.Append("    ").Append(line).Append('\n');
                sb.Append('\n');
            }
        }
    }
}
