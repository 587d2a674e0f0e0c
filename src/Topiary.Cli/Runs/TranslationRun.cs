using System.Globalization;
using System.Text.Json.Nodes;
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
/// A character-level encoder-decoder translating verse pairs of two Bibles, trained dense and pruned with the same
/// loop as the other models, gated by validation target perplexity, and scored by BLEU before and after pruning.
/// </summary>
internal sealed class TranslationRun(ILogger logger) : IModelRun
{
    private ILogger Logger { get; } = logger;

    public PreparedRun Prepare(PruneSettings settings, PruningOptions options)
    {
        var pairs = settings.Pairs(ModelDefaults.BleuPairs, settings.Subset);
        var sizes = settings.Sizes;
        var (from, threads) = (settings.From, settings.ThreadCount);
        Experiment.RequireSupported(TransformerTranslationModel.ArchitectureName, LanguageModelSubject.SupportedMethods, options);

        LoadedModel? loaded = from is null ? null : ModelFile.Load(from);
        if (loaded is not null && loaded.Architecture != TransformerTranslationModel.ArchitectureName)
            throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model, not transformer-mt");
        // A saved model brings its own sizes and vocabulary; the ids of the pairs must be its ids.
        var config = loaded is null ? null : LanguageModelFile.Config(from!, loaded.ArchitectureConfig);
        var vocabulary = loaded is null ? null : LanguageModelFile.TranslationVocabulary(from!, loaded);
        var corpus = pairs.LoadCorpus();
        var data = pairs.Data(corpus, options.Seed, config?.ContextLength ?? sizes.Context, vocabulary);
        config ??= sizes.Config(data.Vocabulary.Size);

        var hyperparameters = pairs.Settings(config);
        hyperparameters["ceiling_ratio"] = double.IsPositiveInfinity(options.Ceiling) ? settings.CeilingRatioOrDefault : "none";
        foreach (var (key, value) in TrainingRecord.Settings(options, pairs.Subset, from, threads)) hyperparameters[key] = value;
        var description = $"transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}) on {data.Name}: "
            + $"{data.Split.Train.Count:N0} / {data.Split.Validation.Count:N0} / {data.Split.Test.Count:N0} verse pairs (train / validation / test; {data.FittingPairs:N0} of {data.CorpusPairs:N0} fit the context), "
            + $"vocabulary {data.Vocabulary.Size}";
        var experiment = new TranslationSettings { CeilingRatio = settings.CeilingRatioOrDefault, BleuPairs = pairs.BleuPairs };
        return new PreparedRun(new TranslationSubject(data, config, experiment, pairs.Source, Logger), loaded is null ? null : new StartingPoint(loaded.Model, loaded.Masks),
            hyperparameters, description);
    }

    /// <summary>Relevance decay against its baselines, per seed one split of verse pairs and one dense model shared by the methods, compared by test perplexity and BLEU.</summary>
    public PreparedComparison Prepare(CompareSettings settings, PruningOptions dense)
    {
        var pairs = settings.Pairs(ModelDefaults.CompareBleuPairs, settings.SubsetOrDefault);
        var sizes = settings.Sizes;
        var corpus = pairs.LoadCorpus();
        // Every seed's split shares the corpus-wide vocabulary, so one config serves them all.
        var vocabulary = TranslationVocabulary.FromPairs(corpus.Pairs);
        var seeds = settings.SeedList;
        var splits = seeds.ToDictionary(seed => seed, seed => pairs.Data(corpus, seed, sizes.Context, vocabulary));
        var config = sizes.Config(splits[seeds[0]].Vocabulary.Size);
        var experiment = new TranslationSettings { CeilingRatio = settings.CeilingRatioOrDefault, BleuPairs = pairs.BleuPairs };

        var recorded = pairs.Settings(config);
        recorded["ceiling"] = double.IsPositiveInfinity(dense.Ceiling) ? $"{experiment.CeilingRatio} × dense validation perplexity" : dense.Ceiling;
        var first = splits[seeds[0]];
        // The seed's dense model is scored once per method otherwise; sample translations are not part of a comparison.
        var quiet = experiment with { ScoreDense = false, SampleCount = 0 };
        return new PreparedComparison(TransformerTranslationModel.ArchitectureName, first.Source,
            seed => new TranslationSubject(splits[seed], config, quiet, pairs.Source, Logger), recorded,
            $"transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers) on {first.Name}, {first.Split.Train.Count:N0} / {first.Split.Validation.Count:N0} / {first.Split.Test.Count:N0} verse pairs");
    }

    /// <summary>Test perplexity and BLEU on the verse pairs the run held out (the modules, seed, held-out sizes and subset stored in the file's metadata).</summary>
    public PreparedEval Prepare(LoadedModel loaded, EvalSettings settings)
    {
        var file = settings.File;
        if (settings.Corpus is not null) throw new CliUsageException($"--corpus: {file} holds a translation model; it reads the modules named in its metadata");
        var metadata = loaded.Metadata;
        string Text(string key, string fallback) => metadata[key] is JsonValue v && v.TryGetValue<string>(out var text) ? text : fallback;
        int? Number(string key) => metadata[key] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
        var options = new TranslationOptions(Text("source", ParallelCorpus.ReinaValeraDirectory), Text("target", CorpusCatalog.WorldEnglishBibleDirectory),
            Number("validation_pairs") ?? ModelDefaults.HeldOutPairs, Number("test_pairs") ?? ModelDefaults.HeldOutPairs,
            settings.BleuPairs ?? ModelDefaults.BleuPairs, Number("subset"));
        var seed = Number("seed") ?? 0;
        var vocabulary = LanguageModelFile.TranslationVocabulary(file, loaded);
        var config = LanguageModelFile.Config(file, loaded.ArchitectureConfig);
        var data = options.Data(options.LoadCorpus(), seed, config.ContextLength, vocabulary);
        var task = new TranslationTask(data.Split, vocabulary, config.ContextLength);
        var scored = data.Split.Test.Take(options.BleuPairs!.Value).ToList();
        return new PreparedEval(task, $"{data.Split.Test.Count:N0} verse pairs of {data.Name} (seed {seed})", Owner: null,
            model => $", BLEU {task.Bleu((TransformerTranslationModel)model, scored).Bleu.Score.ToString("F2", CultureInfo.InvariantCulture)} on the first {scored.Count:N0}");
    }
}
