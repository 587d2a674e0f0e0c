using Topiary.Reporting;
namespace Topiary.Language;

/// <summary>
/// Corpus-level BLEU-4 (Papineni, Roukos, Ward &amp; Zhu, "BLEU: a Method for Automatic Evaluation of
/// Machine Translation", ACL 2002) with one reference per hypothesis:
/// BLEU = BP · exp(¼ Σₙ₌₁⁴ log pₙ), where pₙ is the clipped n-gram precision summed over the whole
/// corpus (each hypothesis n-gram counts at most as often as it occurs in its reference), and
/// BP = exp(1 − r/c) when the total hypothesis length c is not above the total reference length r.
/// No smoothing: a corpus with no matching 4-gram scores 0.
/// Scored on words: <see cref="Tokenize"/> splits on white space and cuts every punctuation
/// character into a token of its own (as sacreBLEU's 13a tokenizer does), keeping case.
/// </summary>
public static class Bleu
{
    /// <summary>The largest n-gram order, 4 as in the paper.</summary>
    public const int MaxOrder = 4;

    /// <summary>Corpus BLEU of <paramref name="hypotheses"/> against the same-position <paramref name="references"/>.</summary>
    /// <exception cref="ArgumentException">The lists differ in length.</exception>
    public static BleuResult Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
    {
        if (hypotheses.Count != references.Count)
            throw new ArgumentException($"{hypotheses.Count} hypotheses but {references.Count} references", nameof(references));
        var matches = new long[MaxOrder];
        var totals = new long[MaxOrder];
        int hypothesisLength = 0, referenceLength = 0;
        for (var i = 0; i < hypotheses.Count; i++)
        {
            var hypothesis = Tokenize(hypotheses[i]);
            var reference = Tokenize(references[i]);
            hypothesisLength += hypothesis.Count;
            referenceLength += reference.Count;
            for (var n = 1; n <= MaxOrder; n++)
            {
                var referenceCounts = NGramCounts(reference, n);
                foreach (var (gram, count) in NGramCounts(hypothesis, n))
                    matches[n - 1] += Math.Min(count, referenceCounts.GetValueOrDefault(gram));
                totals[n - 1] += Math.Max(0, hypothesis.Count - n + 1);
            }
        }
        var precisions = Enumerable.Range(0, MaxOrder).Select(n => totals[n] == 0 ? 0 : (double)matches[n] / totals[n]).ToArray();
        var brevity = hypothesisLength == 0 ? 0 : hypothesisLength > referenceLength ? 1 : Math.Exp(1 - (double)referenceLength / hypothesisLength);
        var score = precisions.Any(p => p == 0) ? 0 : 100 * brevity * Math.Exp(precisions.Average(Math.Log));
        return new BleuResult(score, precisions, brevity, hypothesisLength, referenceLength);
    }

    /// <summary>Words: white-space-separated runs, with each punctuation or symbol character a token of its own.</summary>
    public static IReadOnlyList<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var word = new System.Text.StringBuilder();
        void Flush() { if (word.Length > 0) { tokens.Add(word.ToString()); word.Clear(); } }
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c)) Flush();
            else if (char.IsPunctuation(c) || char.IsSymbol(c)) { Flush(); tokens.Add(c.ToString()); }
            else word.Append(c);
        }
        Flush();
        return tokens;
    }

    private static Dictionary<string, int> NGramCounts(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>();
        // U+0001 cannot occur inside a token, so joined n-grams are unambiguous keys.
        for (var i = 0; i + n <= tokens.Count; i++)
        {
            var gram = string.Join('\u0001', tokens.Skip(i).Take(n));
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
