using Topiary.Language;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>The flags that describe a Transformer language model and its corpus, shared by <c>prune</c> and <c>compare</c>.</summary>
internal sealed record TransformerOptions(string CorpusName, TransformerSizes Sizes)
{
    public const string Help = $"""
          --corpus NAME|DIR|FILE      web (World English Bible, Debian package sword-text-web; default),
                                      a SWORD zText module directory, or a UTF-8 text file
        {TransformerSizes.Help}
        """;

    /// <summary>Reads and checks the flags; a bad value is a one-line error naming its flag.</summary>
    public static TransformerOptions Read(ArgumentReader args) => new(args.String("corpus", CorpusCatalog.DefaultName), TransformerSizes.Read(args));

    /// <summary>The corpus, or a one-line <c>--corpus</c> error.</summary>
    public TextCorpus LoadCorpus()
    {
        try { return CorpusCatalog.Load(CorpusName); }
        catch (CorpusFormatException e) { throw new CliUsageException($"--corpus: {e.Message}"); }
    }

    /// <summary>The model's sizes for a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public TransformerConfig Config(int vocabularySize) => Sizes.Config(vocabularySize);

    /// <summary>The model's settings by CLI name, for reports.</summary>
    public static Dictionary<string, object> Settings(TransformerConfig c, string corpus)
    {
        var settings = TransformerSizes.Settings(TransformerLanguageModel.ArchitectureName, c);
        settings["corpus"] = corpus;
        return settings;
    }
}
