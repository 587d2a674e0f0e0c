using Topiary.Reporting;
using System.Globalization;
using System.Text;

namespace Topiary.Reporting;

/// <summary>The optional sections of <c>report.md</c>, present when the run has them: sparsity per part of the model, generated samples, and BLEU with sample translations.</summary>
internal static class ReportSectionsMarkdown
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
        if (report.Translation is { } translation) AppendTranslation(sb, translation);
    }

    private static void AppendTranslation(StringBuilder sb, TranslationScores t)
    {
        static string Precisions(BleuResult? b) => b is null ? "—" : string.Join(" / ", b.Precisions.Select(p => (100 * p).ToString("F1", Inv)));
        sb.Append("## Translation\n\nCorpus BLEU-4 of greedy translations of the first ").Append(t.Pairs.ToString("N0", Inv))
          .Append(" test pairs (word tokens, no smoothing).\n\n| | Dense | Pruned |\n|---|---:|---:|\n")
          .Append("| BLEU | ").Append(t.Dense?.Score.ToString("F2", Inv) ?? "—").Append(" | ").Append(t.Pruned.Score.ToString("F2", Inv)).Append(" |\n")
          .Append("| n-gram precisions (%) | ").Append(Precisions(t.Dense)).Append(" | ").Append(Precisions(t.Pruned)).Append(" |\n")
          .Append("| brevity penalty | ").Append(t.Dense?.BrevityPenalty.ToString("F3", Inv) ?? "—").Append(" | ").Append(t.Pruned.BrevityPenalty.ToString("F3", Inv)).Append(" |\n\n");
        foreach (var s in t.Samples)
        {
            foreach (var (label, text) in new[] { ("source", s.Source), ("reference", s.Reference), ("dense", s.Dense), ("pruned", s.Pruned) })
                sb.Append("    ").Append(label.PadRight(10)).Append(text.ReplaceLineEndings(" ")).Append('\n');
            sb.Append('\n');
        }
    }
}
