using Topiary.Language;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>The flags that describe a Transformer language model and its corpus, shared by <c>prune</c> and <c>compare</c>.</summary>
internal sealed record TransformerOptions(string CorpusName, int Context, int ModelDim, int Heads, int Layers, int FeedForward)
{
    public const string Help = """
          --corpus NAME|DIR|FILE      web (World English Bible, Debian package sword-text-web; default),
                                      a SWORD zText module directory, or a UTF-8 text file
          --context N                 context length in characters (default 128)
          --d-model N, --heads N      width and attention heads (default 128, 4)
          --layers N, --ffn N         Transformer blocks and feed-forward width (default 2, 512)
        """;

    /// <summary>Reads and checks the flags; a bad value is a one-line error naming its flag.</summary>
    public static TransformerOptions Read(ArgumentReader args)
    {
        var o = new TransformerOptions(args.String("corpus", CorpusCatalog.DefaultName), args.Int("context", 128), args.Int("d-model", 128),
            args.Int("heads", 4), args.Int("layers", 2), args.Int("ffn", 512));
        Require(o.Context >= 1, "context", o.Context);
        Require(o.ModelDim >= 1, "d-model", o.ModelDim);
        Require(o.Heads >= 1 && o.ModelDim % o.Heads == 0, "heads", o.Heads, $"must divide --d-model {o.ModelDim}");
        Require(o.Layers >= 1, "layers", o.Layers);
        Require(o.FeedForward >= 1, "ffn", o.FeedForward);
        return o;
    }

    /// <summary>The corpus, or a one-line <c>--corpus</c> error.</summary>
    public TextCorpus LoadCorpus()
    {
        try { return CorpusCatalog.Load(CorpusName); }
        catch (CorpusFormatException e) { throw new CliUsageException($"--corpus: {e.Message}"); }
    }

    /// <summary>The model's sizes for a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public TransformerConfig Config(int vocabularySize) => new()
    {
        VocabularySize = vocabularySize, ContextLength = Context, ModelDim = ModelDim, Heads = Heads, Layers = Layers, FeedForwardDim = FeedForward,
    };

    /// <summary>The model's settings by CLI name, for reports.</summary>
    public static Dictionary<string, object> Settings(TransformerConfig c, string corpus) => new()
    {
        ["model"] = TransformerLanguageModel.ArchitectureName,
        ["corpus"] = corpus,
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
