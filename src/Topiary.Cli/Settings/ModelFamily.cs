using Topiary.Models;

namespace Topiary.Cli.Settings;

/// <summary>The kinds of model the training commands run; a flag may apply to some of them only.</summary>
[Flags]
internal enum ModelFamily
{
    /// <summary>LeNet-5 and LeNet-300-100 on IDX images, gated by validation accuracy.</summary>
    Image = 1,

    /// <summary>The character-level Transformer language model, gated by perplexity.</summary>
    LanguageModel = 2,

    /// <summary>The character-level Transformer translator, gated by perplexity and scored by BLEU.</summary>
    Translation = 4,

    Transformers = LanguageModel | Translation,
}

/// <summary>The model names the CLI accepts and the family each belongs to.</summary>
internal static class ModelFamilies
{
    /// <summary>Every name <c>--model</c> takes, the image models first.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [.. ModelCatalog.Names, TransformerLanguageModel.ArchitectureName, TransformerTranslationModel.ArchitectureName];

    /// <summary>The family of a model (or of a saved file's architecture); image models are the rest.</summary>
    public static ModelFamily Of(string model) => model switch
    {
        TransformerLanguageModel.ArchitectureName => ModelFamily.LanguageModel,
        TransformerTranslationModel.ArchitectureName => ModelFamily.Translation,
        _ => ModelFamily.Image,
    };

    /// <summary>The models of <paramref name="families"/>, for messages: "lenet5 and lenet300".</summary>
    public static string Describe(ModelFamily families) =>
        string.Join(" and ", Names.Where(n => (Of(n) & families) != 0));
}
