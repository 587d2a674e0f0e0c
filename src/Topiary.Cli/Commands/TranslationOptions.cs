using Topiary.Language;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary>A translation model's data as the CLI names it (<c>--source</c>, <c>--target</c>, …), in <c>prune</c>, <c>compare</c> and <c>eval</c>.</summary>
internal sealed record TranslationOptions(string SourceModule, string TargetModule, int ValidationPairs, int TestPairs, int? BleuPairs, int? Subset)
{
    /// <summary>Short name of the language pair, e.g. <c>spaRV1909eb→engWEB2015eb</c>.</summary>
    public string Name => $"{ModuleName(SourceModule)}→{ModuleName(TargetModule)}";

    /// <summary>Where the pairs come from and how they are held out, as a saved model records it.</summary>
    public TranslationSource Source => new(SourceModule, TargetModule, ValidationPairs, TestPairs, Subset);

    /// <summary>The verse-aligned corpus, or a one-line error naming <c>--source</c> or <c>--target</c>.</summary>
    public ParallelCorpus LoadCorpus()
    {
        Require(SourceModule, "source", ParallelCorpus.ReinaValeraDirectory, "sword-text-sparv");
        Require(TargetModule, "target", CorpusCatalog.WorldEnglishBibleDirectory, "sword-text-web");
        try { return ParallelCorpus.Load(SourceModule, TargetModule); }
        catch (CorpusFormatException e)
        {
            var flag = e.Path.StartsWith(TargetModule, StringComparison.Ordinal) && !e.Path.StartsWith(SourceModule, StringComparison.Ordinal) ? "target" : "source";
            throw new CliUsageException($"--{flag}: {e.Message}");
        }
    }

    /// <summary>The seed's split of <paramref name="corpus"/> for a model of <paramref name="context"/> ids, or a one-line error.</summary>
    public TranslationData Data(ParallelCorpus corpus, int seed, int context, TranslationVocabulary? vocabulary = null)
    {
        try { return TranslationData.From(corpus, Name, $"{SourceModule} → {TargetModule}", seed, context, ValidationPairs, TestPairs, Subset, vocabulary); }
        catch (ArgumentException e)
        {
            var flag = e.ParamName switch { "subset" => "subset", "contextLength" => "context", _ => "validation-pairs/--test-pairs" };
            throw new CliUsageException($"--{flag}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    /// <summary>The data settings by CLI name, for reports and for rebuilding the split in <c>eval</c>.</summary>
    public Dictionary<string, object> Settings(TransformerConfig config)
    {
        var settings = TransformerSizes.Settings(TransformerTranslationModel.ArchitectureName, config);
        settings["source"] = SourceModule;
        settings["target"] = TargetModule;
        settings["validation_pairs"] = ValidationPairs;
        settings["test_pairs"] = TestPairs;
        if (BleuPairs is { } bleu) settings["bleu_pairs"] = bleu;
        return settings;
    }

    private static void Require(string directory, string flag, string defaultDirectory, string package)
    {
        if (Directory.Exists(directory)) return;
        throw new CliUsageException(directory == defaultDirectory
            ? $"--{flag}: {directory} is not installed (apt-get install {package}, or run ./topiary.sh once)"
            : $"--{flag}: {directory}: no such module directory");
    }

    private static string ModuleName(string directory) => Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
}
