using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Cli.Commands;
using Topiary.Cli.Settings;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Runs;

/// <summary>
/// A character-level Transformer language model on an offline English corpus, trained dense and pruned with the
/// same loop as the image models, gated by validation perplexity.
/// </summary>
internal sealed class LanguageModelRun : IModelRun
{
    public PreparedRun Prepare(PruneSettings settings, PruningOptions options)
    {
        var experiment = new LanguageExperimentSettings { CeilingRatio = settings.CeilingRatioOrDefault };
        var sizes = settings.Sizes;
        var (subset, from, threads) = (settings.Subset, settings.From, settings.ThreadCount);
        Experiment.RequireSupported(TransformerLanguageModel.ArchitectureName, LanguageModelSubject.SupportedMethods, options);

        var corpus = LanguageCorpus.Load(settings.CorpusName);
        LoadedModel? loaded = from is null ? null : ModelFile.Load(from);
        if (loaded is not null && loaded.Architecture != TransformerLanguageModel.ArchitectureName)
            throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model, not transformer-lm");
        // A saved model brings its own sizes and vocabulary; the ids of the corpus must be its ids.
        var tokenizer = loaded is null ? null : LanguageModelFile.Tokenizer(from!, loaded);
        var config = loaded is null ? null : LanguageModelFile.Config(from!, loaded.ArchitectureConfig);
        LanguageModelingData data;
        try { data = LanguageModelingData.From(corpus, options.Seed, config?.ContextLength ?? sizes.Context, subset, tokenizer); }
        catch (ArgumentException e) { throw new CliUsageException($"--corpus: {corpus.Source}: {e.Message.Split(" (Parameter")[0]}"); }
        config ??= sizes.Config(data.Tokenizer.Size);

        var hyperparameters = LanguageCorpus.Settings(config, settings.CorpusName);
        hyperparameters["ceiling_ratio"] = double.IsPositiveInfinity(options.Ceiling) ? experiment.CeilingRatio : "none";
        foreach (var (key, value) in TrainingRecord.Settings(options, subset, from, threads)) hyperparameters[key] = value;
        var description = $"transformer-lm (d_model {config.ModelDim}, {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}) on {corpus.Name}: "
            + $"{data.Train.shape[0]:N0} / {data.Validation.shape[0]:N0} / {data.Test.shape[0]:N0} characters (train / validation / test), vocabulary {data.Tokenizer.Size}";
        return new PreparedRun(new LanguageModelSubject(data, config, experiment, subset), loaded is null ? null : new StartingPoint(loaded.Model, loaded.Masks),
            hyperparameters, description);
    }

    /// <summary>Relevance decay against its baselines, per seed one corpus split and one dense model shared by the methods, compared by test perplexity.</summary>
    public PreparedComparison Prepare(CompareSettings settings, PruningOptions dense)
    {
        var subset = settings.SubsetOrDefault;
        var sizes = settings.Sizes;
        var experiment = new LanguageExperimentSettings { CeilingRatio = settings.CeilingRatioOrDefault };
        var corpus = LanguageCorpus.Load(settings.CorpusName);
        // The tokenizer comes from the whole corpus, so every seed's split has the same vocabulary.
        var config = sizes.Config(CharacterTokenizer.FromText(corpus.Text).Size);
        try { LanguageModelingData.From(corpus, settings.SeedList[0], config.ContextLength, subset).Dispose(); }
        catch (ArgumentException e) { throw new CliUsageException($"--corpus: {corpus.Source}: {e.Message.Split(" (Parameter")[0]}"); }

        var recorded = LanguageCorpus.Settings(config, settings.CorpusName);
        recorded["ceiling"] = double.IsPositiveInfinity(dense.Ceiling) ? $"{experiment.CeilingRatio} × dense validation perplexity" : dense.Ceiling;
        // Samples are not part of a comparison; generating them would only cost time.
        var quiet = experiment with { SamplePrompts = [] };
        return new PreparedComparison(TransformerLanguageModel.ArchitectureName, corpus.Source,
            seed => new LanguageModelSubject(LanguageModelingData.From(corpus, seed, config.ContextLength, subset), config, quiet, subset), recorded,
            $"transformer-lm (d_model {config.ModelDim}, {config.Layers} layers) on {corpus.Name}, first {Math.Min(subset!.Value, corpus.Text.Length):N0} characters");
    }

    /// <summary>Test perplexity on the split the run held out: the corpus, seed and subset stored in the file's metadata (<c>--corpus</c> overrides the corpus).</summary>
    public PreparedEval Prepare(LoadedModel loaded, EvalSettings settings)
    {
        var file = settings.File;
        var metadata = loaded.Metadata;
        var corpusName = settings.Corpus ?? metadata["corpus"]?.GetValue<string>() ?? CorpusCatalog.DefaultName;
        var seed = metadata["seed"]?.GetValue<int>() ?? 0;
        var subset = metadata["subset"]?.GetValue<int>();
        var tokenizer = LanguageModelFile.Tokenizer(file, loaded);
        var config = LanguageModelFile.Config(file, loaded.ArchitectureConfig);
        var corpus = LanguageCorpus.Load(corpusName);
        var data = LanguageModelingData.From(corpus, seed, config.ContextLength, subset, tokenizer);
        return new PreparedEval(new LanguageModelingTask(data, config.ContextLength), $"{data.Test.shape[0]:N0} characters of {corpus.Name} (seed {seed})", data);
    }
}
