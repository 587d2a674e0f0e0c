using System.Globalization;
using Topiary.Language;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary eval</c> on a transformer-lm file: test perplexity on the split the run held out
/// (the corpus, seed and subset stored in the file's metadata; <c>--corpus</c> overrides the corpus).
/// </summary>
internal static class LanguageEvalCommand
{
    public static int Run(string file, LoadedModel loaded, string? corpusOverride)
    {
        var metadata = loaded.Metadata;
        var corpusName = corpusOverride ?? metadata["corpus"]?.GetValue<string>() ?? CorpusCatalog.DefaultName;
        var seed = metadata["seed"]?.GetValue<int>() ?? 0;
        var subset = metadata["subset"]?.GetValue<int>();
        var tokenizer = LanguageModelFile.Tokenizer(file, loaded);
        var config = LanguageModelFile.Config(file, loaded.ArchitectureConfig);
        TextCorpus corpus;
        try { corpus = CorpusCatalog.Load(corpusName); }
        catch (CorpusFormatException e) { throw new CliUsageException($"--corpus: {e.Message}"); }
        using var data = LanguageModelingData.From(corpus, seed, config.ContextLength, subset, tokenizer);
        loaded.ApplyMasks();

        var test = new LanguageModelingTask(data, config.ContextLength).Test(loaded.Model);
        var (total, nonzero) = SparsityStatistics.Model(loaded.Model);
        System.Console.WriteLine($"{file}: transformer-lm, test perplexity {test.Metric.ToString("F3", CultureInfo.InvariantCulture)} on {data.Test.shape[0]:N0} characters of {corpus.Name} (seed {seed})");
        System.Console.WriteLine($"parameters {total.ToString("N0", CultureInfo.InvariantCulture)}, non-zero {nonzero.ToString("N0", CultureInfo.InvariantCulture)} ({Summary.Percent((double)nonzero / total)})");
        return 0;
    }
}
