namespace Topiary.Language;

/// <summary>Settings of a language-model experiment beyond <see cref="Experiments.PruningOptions"/>.</summary>
public sealed record LanguageExperimentSettings
{
    /// <summary>
    /// When <see cref="Experiments.PruningOptions.Ceiling"/> is unbounded, the ceiling becomes this multiple
    /// of the dense model's validation perplexity (1.1: prune while within 10% of the dense model).
    /// </summary>
    public double CeilingRatio { get; init; } = 1.1;
    /// <summary>Prompts that the dense and the pruned model continue in the report.</summary>
    public IReadOnlyList<string> SamplePrompts { get; init; } = ["In the beginning", "Jesus said to them, "];
    /// <summary>Characters generated per prompt.</summary>
    public int SampleLength { get; init; } = 200;
    /// <summary>Sampling temperature of the report's samples.</summary>
    public double SampleTemperature { get; init; } = 0.7;
}
