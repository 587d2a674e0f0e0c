using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>The sizes of a Transformer as the CLI names them (<c>--context</c>, <c>--d-model</c>, …), for the language and the translation model.</summary>
internal sealed record TransformerSizes(int Context, int ModelDim, int Heads, int Layers, int FeedForward)
{
    /// <summary>The model's sizes for a vocabulary of <paramref name="vocabularySize"/> ids.</summary>
    public TransformerConfig Config(int vocabularySize) => new()
    {
        VocabularySize = vocabularySize, ContextLength = Context, ModelDim = ModelDim, Heads = Heads, Layers = Layers, FeedForwardDim = FeedForward,
    };

    /// <summary>The model's settings by CLI name, for reports.</summary>
    public static Dictionary<string, object> Settings(string architecture, TransformerConfig c) => new()
    {
        ["model"] = architecture,
        ["tokenization"] = "characters",
        ["vocabulary"] = c.VocabularySize,
        ["context"] = c.ContextLength,
        ["d_model"] = c.ModelDim,
        ["heads"] = c.Heads,
        ["layers"] = c.Layers,
        ["ffn"] = c.FeedForwardDim,
    };
}
