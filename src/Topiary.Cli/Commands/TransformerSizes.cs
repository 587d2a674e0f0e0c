using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>The flags that size a Transformer, shared by the language and the translation model in <c>prune</c> and <c>compare</c>.</summary>
internal sealed record TransformerSizes(int Context, int ModelDim, int Heads, int Layers, int FeedForward)
{
    public const string Help = """
          --context N                 context length in characters (default 128)
          --d-model N, --heads N      width and attention heads (default 128, 4)
          --layers N, --ffn N         Transformer blocks and feed-forward width (default 2, 512)
        """;

    /// <summary>Reads and checks the flags; a bad value is a one-line error naming its flag.</summary>
    public static TransformerSizes Read(ArgumentReader args)
    {
        var s = new TransformerSizes(args.Int("context", 128), args.Int("d-model", 128), args.Int("heads", 4), args.Int("layers", 2), args.Int("ffn", 512));
        Require(s.Context >= 2, "context", s.Context, "must be at least 2");
        Require(s.ModelDim >= 1, "d-model", s.ModelDim);
        Require(s.Heads >= 1 && s.ModelDim % s.Heads == 0, "heads", s.Heads, $"must divide --d-model {s.ModelDim}");
        Require(s.Layers >= 1, "layers", s.Layers);
        Require(s.FeedForward >= 1, "ffn", s.FeedForward);
        return s;
    }

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

    private static void Require(bool condition, string flag, int value, string? reason = null)
    {
        if (!condition) throw new CliUsageException($"--{flag}: {reason ?? "must be at least 1"}, got {value}");
    }
}
