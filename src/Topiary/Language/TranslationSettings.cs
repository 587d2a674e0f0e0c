namespace Topiary.Language;

/// <summary>Settings of a translation experiment beyond <see cref="Training.PruningOptions"/>.</summary>
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
    /// <summary>Test pairs shown with both models' translations in the report.</summary>
    public int SampleCount { get; init; } = 3;
}
