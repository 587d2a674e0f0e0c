namespace Topiary.Cli.Settings;

/// <summary>
/// Marks a flag that only some models take; given with another model it is refused in one line that says why.
/// The help says the same in the flag's description.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class AppliesToAttribute(ModelFamily models, AppliesToAttribute.Topic topic = AppliesToAttribute.Topic.Other) : Attribute
{
    /// <summary>What the flag is about, which decides how its refusal reads.</summary>
    public enum Topic
    {
        Other,

        /// <summary>The data a model reads: the refusal names the flag that model reads instead.</summary>
        Input,

        /// <summary>The bound on the validation metric: the refusal names the model's own gate.</summary>
        Gate,
    }

    public ModelFamily Models { get; } = models;

    /// <summary>Why the flag does not apply to <paramref name="model"/>.</summary>
    public string Refusal(string model) => (topic, ModelFamilies.Of(model)) switch
    {
        (Topic.Input, ModelFamily.LanguageModel) => $"{model} reads text; use --corpus",
        (Topic.Input, ModelFamily.Translation) => $"{model} reads verse pairs; use --source and --target",
        (Topic.Input, _) => $"{model} reads IDX images; use --data",
        (Topic.Gate, ModelFamily.Image) => $"{model} is gated by validation accuracy; use --floor",
        (Topic.Gate, _) => $"{model} is gated by perplexity; use --ceiling or --ceiling-ratio",
        _ => $"only for {ModelFamilies.Describe(Models)}, not {model}",
    };
}
