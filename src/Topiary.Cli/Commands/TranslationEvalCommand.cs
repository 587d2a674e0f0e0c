using System.Text.Json.Nodes;
using System.Globalization;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary eval</c> on a transformer-mt file: test perplexity and BLEU on the verse pairs the run held out
/// (the modules, seed, held-out sizes and subset stored in the file's metadata).
/// </summary>
internal static class TranslationEvalCommand
{
    public static int Run(string file, LoadedModel loaded, int? bleuPairs)
    {
        var metadata = loaded.Metadata;
        string Text(string key, string fallback) => metadata[key] is JsonValue v && v.TryGetValue<string>(out var text) ? text : fallback;
        int? Number(string key) => metadata[key] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
        var options = new TranslationOptions(Text("source", ParallelCorpus.ReinaValeraDirectory), Text("target", CorpusCatalog.WorldEnglishBibleDirectory),
            Number("validation_pairs") ?? TranslationOptions.DefaultHeldOutPairs, Number("test_pairs") ?? TranslationOptions.DefaultHeldOutPairs,
            bleuPairs ?? TranslationOptions.DefaultBleuPairs, Number("subset"));
        var seed = Number("seed") ?? 0;
        var vocabulary = LanguageModelFile.TranslationVocabulary(file, loaded);
        var config = LanguageModelFile.Config(file, loaded.ArchitectureConfig);
        var data = options.Data(options.LoadCorpus(), seed, config.ContextLength, vocabulary);
        loaded.ApplyMasks();

        var task = new TranslationTask(data.Split, vocabulary, config.ContextLength);
        var test = task.Test(loaded.Model);
        var scored = data.Split.Test.Take(options.BleuPairs!.Value).ToList();
        var (bleu, _) = task.Bleu((TransformerTranslationModel)loaded.Model, scored);
        var (total, nonzero) = SparsityStatistics.Model(loaded.Model);
        var inv = CultureInfo.InvariantCulture;
        System.Console.WriteLine($"{file}: transformer-mt, test perplexity {test.Metric.ToString("F3", inv)} on {data.Split.Test.Count:N0} verse pairs of {data.Name} (seed {seed}), "
            + $"BLEU {bleu.Score.ToString("F2", inv)} on the first {scored.Count:N0}");
        System.Console.WriteLine($"parameters {total.ToString("N0", inv)}, non-zero {nonzero.ToString("N0", inv)} ({Summary.Percent((double)nonzero / total)})");
        return 0;
    }
}
