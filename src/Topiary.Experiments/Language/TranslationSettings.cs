namespace Topiary.Language;

/// <summary>Settings of a translation experiment beyond <see cref="Experiments.PruningOptions"/>.</summary>
public sealed record TranslationSettings
{
    /// <summary>As <see cref="LanguageExperimentSettings.CeilingRatio"/>: without a set ceiling, this multiple of the dense validation perplexity.</summary>
    public double CeilingRatio { get; init; } = 1.1;
    /// <summary>
    /// Test pairs whose greedy translations BLEU scores, for the dense and the pruned model: the first N of
    /// the test split, or all of it when null or larger. Greedy decoding costs a decoder pass per output
    /// character, so this bounds the run's time.
    /// </summary>
    public int? BleuPairs { get; init; }
    /// <summary>
    /// Whether the dense model's BLEU is scored too; a comparison turns it off, as every method of a seed
    /// starts from the same dense model and would translate the same pairs again.
    /// </summary>
    public bool ScoreDense { get; init; } = true;
    /// <summary>Test pairs shown with both models' translations in the report (needs <see cref="ScoreDense"/>).</summary>
    public int SampleCount { get; init; } = 3;
}
