using Topiary.Reporting;
using Topiary.Regularization;
using System.Globalization;
using System.Text;

namespace Topiary.Reporting;

/// <summary>The optional sections of <c>report.md</c>, present when the run has them: sparsity per part of the model, generated samples, BLEU with sample translations, and the relevance gate.</summary>
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
        if (report.Gate is { Evaluations.Count: > 0 } gate) AppendGate(sb, gate);
        if (report.Tuning is { Count: > 0 } tuning) AppendTuning(sb, tuning);
    }

    // A tuned strength (issue 22): the multiplier's path, at most a dozen rows spread over the run.
    private static void AppendTuning(StringBuilder sb, IReadOnlyList<Topiary.Tuning.TuningRecord> records)
    {
        static string Number(double value) => double.IsNaN(value) ? "—" : value.ToString("G4", Inv);
        var shown = records.Count <= 12 ? records
            : Enumerable.Range(0, 12).Select(i => records[(int)Math.Round(i * (records.Count - 1) / 11.0)]).Distinct().ToList();
        var accepted = records.Count(r => r.Update.Accepted);
        sb.Append("## Tuned strength\n\n").Append(records.Count.ToString(Inv)).Append(" updates (").Append(accepted.ToString(Inv))
          .Append(" accepted). Each step ran with m·γ_t, γ_t the method's schedule and m the multiplier tuned on the validation loss; ")
          .Append("the hypergradient is dF/d log m before the update.\n\n| Step | γ_t | m after | m·γ_t | dF/d log m | Validation loss | Accepted | Hv products |\n|---:|---:|---:|---:|---:|---:|---|---:|\n");
        foreach (var r in shown)
            sb.Append("| ").Append(r.Step.ToString("N0", Inv)).Append(" | ").Append(Number(r.ScheduledStrength)).Append(" | ").Append(Number(r.Update.Multiplier))
              .Append(" | ").Append(Number(r.Update.Multiplier * r.ScheduledStrength)).Append(" | ").Append(Number(r.Update.Hypergradient))
              .Append(" | ").Append(Number(r.Update.ValidationLoss)).Append(" | ").Append(r.Update.Accepted ? "yes" : "no")
              .Append(" | ").Append(r.Update.HessianProducts.ToString(Inv)).Append(" |\n");
        sb.Append('\n');
    }

    // The relevance gate (issue 16): its spread at the last evaluation, then how each layer's median gate moved.
    private static void AppendGate(StringBuilder sb, GateTrace trace)
    {
        static string Level(double level) => (100 * level).ToString("0.#", Inv) + "%";
        static string Number(double value) => double.IsNaN(value) ? "—" : value.ToString("G3", Inv);
        var last = trace.Evaluations[^1];
        sb.Append("## Relevance gate\n\nAt the last evaluation (step ").Append(last.Step.ToString("N0", Inv))
          .Append("), over the unpruned weights of each layer: quantiles of the relevance signal s = |∂L/∂w| (or its running average) and of the gate exp(−s/α). ")
          .Append("A gate near 1 means the full decay 2γw; only gates well below 1 spare a weight.\n\n| Layer | α | ")
          .Append(string.Join(" | ", trace.Levels.Select(l => "s " + Level(l)))).Append(" | ")
          .Append(string.Join(" | ", trace.Levels.Select(l => "gate " + Level(l)))).Append(" | gate < ½ |\n|---|")
          .Append(string.Concat(Enumerable.Repeat("---:|", 2 * trace.Levels.Count + 2))).Append('\n');
        foreach (var layer in last.Layers)
            sb.Append("| `").Append(layer.Name).Append("` | ").Append(Number(layer.Alpha)).Append(" | ")
              .Append(string.Join(" | ", layer.Signal.Select(Number))).Append(" | ").Append(string.Join(" | ", layer.Gate.Select(Number)))
              .Append(" | ").Append(double.IsNaN(layer.BelowHalf) ? "—" : (100 * layer.BelowHalf).ToString("F1", Inv) + "%").Append(" |\n");
        var median = trace.Levels.ToList().IndexOf(0.5);
        if (median < 0)
        {
            sb.Append('\n');
            return;
        }
        var first = trace.Evaluations[0];
        sb.Append("\nThe median gate per layer over the run (").Append(trace.Evaluations.Count.ToString(Inv)).Append(" evaluations):\n\n")
          .Append("| Layer | First (step ").Append(first.Step.ToString("N0", Inv)).Append(") | Lowest | Highest | Last (step ")
          .Append(last.Step.ToString("N0", Inv)).Append(") |\n|---|---:|---:|---:|---:|\n");
        foreach (var layer in last.Layers)
        {
            var medians = trace.Evaluations.SelectMany(e => e.Layers.Where(l => l.Name == layer.Name)).Select(l => l.Gate[median]).Where(v => !double.IsNaN(v)).ToList();
            if (medians.Count == 0) continue;
            sb.Append("| `").Append(layer.Name).Append("` | ").Append(Number(medians[0])).Append(" | ").Append(Number(medians.Min()))
              .Append(" | ").Append(Number(medians.Max())).Append(" | ").Append(Number(medians[^1])).Append(" |\n");
        }
        sb.Append('\n');
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
