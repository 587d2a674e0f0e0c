using Topiary.Reporting;
namespace Topiary.Reporting;

/// <summary>A corpus-level BLEU score with the parts it is made of.</summary>
/// <param name="Score">BLEU on the 0–100 scale.</param>
/// <param name="Precisions">The clipped (modified) n-gram precisions p₁…p₄, each in [0, 1].</param>
/// <param name="BrevityPenalty">BP = 1 if c &gt; r, else exp(1 − r/c).</param>
/// <param name="HypothesisLength">c, the total number of hypothesis tokens.</param>
/// <param name="ReferenceLength">r, the total number of reference tokens.</param>
public sealed record BleuResult(double Score, IReadOnlyList<double> Precisions, double BrevityPenalty, int HypothesisLength, int ReferenceLength);
