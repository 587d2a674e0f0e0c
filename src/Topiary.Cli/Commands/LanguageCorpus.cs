using Topiary.Language;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>The language model's corpus as the CLI names it (<c>--corpus</c>), in <c>prune</c>, <c>compare</c> and <c>eval</c>.</summary>
internal static class LanguageCorpus
{
    /// <summary>The corpus, or a one-line <c>--corpus</c> error.</summary>
    public static TextCorpus Load(string name)
    {
        try { return CorpusCatalog.Load(name); }
        catch (CorpusFormatException e) { throw new CliUsageException($"--corpus: {e.Message}"); }
    }

    /// <summary>The model's settings by CLI name, for reports.</summary>
    public static Dictionary<string, object> Settings(TransformerConfig c, string corpus)
    {
        var settings = TransformerSizes.Settings(TransformerLanguageModel.ArchitectureName, c);
        settings["corpus"] = corpus;
        return settings;
    }
}
