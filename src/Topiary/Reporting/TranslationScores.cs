using Topiary.Reporting;

namespace Topiary.Reporting;

/// <summary>
/// BLEU of a translation run's dense and pruned model on the same held-out pairs (greedy decoding), with
/// a few of those pairs translated by both.
/// </summary>
/// <param name="Pairs">Test pairs translated (the first N of the test split).</param>
/// <param name="Dense">Corpus BLEU of the dense model (null when not scored, as in a comparison).</param>
/// <param name="Pruned">Corpus BLEU of the pruned model.</param>
/// <param name="Samples">The first few of those pairs with both translations.</param>
public sealed record TranslationScores(int Pairs, BleuResult? Dense, BleuResult Pruned, IReadOnlyList<TranslationSample> Samples);

/// <summary>One held-out pair with the dense and the pruned model's translations.</summary>
/// <param name="Source">The source text.</param>
/// <param name="Reference">The reference translation.</param>
/// <param name="Dense">The dense model's greedy translation.</param>
/// <param name="Pruned">The pruned model's greedy translation.</param>
public sealed record TranslationSample(string Source, string Reference, string Dense, string Pruned);
