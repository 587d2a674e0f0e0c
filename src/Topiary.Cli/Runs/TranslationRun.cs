using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;
using Topiary.Cli.Settings;
using Topiary.Comparison;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Runs;

/// <summary>
/// A character-level encoder-decoder translating verse pairs of two Bibles, trained dense and pruned with the same
/// loop as the other models, gated by validation target perplexity, and scored by BLEU before and after pruning.
/// </summary>
internal sealed class TranslationRun : IModelRun
{
    public int Prune(PruneSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var options = settings.Options();
        var pairs = settings.Pairs(ModelDefaults.BleuPairs, settings.Subset);
        var sizes = settings.Sizes;
        var (from, outDirectory, threads) = (settings.From, settings.OutDirectory, settings.ThreadCount);
        options.Validate();
        LanguageModelExperiment.RequireSupported(options.Method);

        // Bad input is reported before the backend self-check and the model are paid for.
        LoadedModel? loaded = from is null ? null : ModelFile.Load(from);
        if (loaded is not null && loaded.Architecture != TransformerTranslationModel.ArchitectureName)
            throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model, not transformer-mt");
        // A saved model brings its own sizes and vocabulary; the ids of the pairs must be its ids.
        var config = loaded is null ? null : LanguageModelFile.Config(from!, loaded.ArchitectureConfig);
        var vocabulary = loaded is null ? null : LanguageModelFile.TranslationVocabulary(from!, loaded);
        var corpus = pairs.LoadCorpus();
        var data = pairs.Data(corpus, options.Seed, config?.ContextLength ?? sizes.Context, vocabulary);
        config ??= sizes.Config(data.Vocabulary.Size);
        var backend = BackendSummary.Start(threads, logger);
        Func<StartingPoint>? start = loaded is null ? null : () => new StartingPoint(loaded.Model, loaded.Masks);

        var hyperparameters = pairs.Settings(config);
        hyperparameters["ceiling_ratio"] = double.IsPositiveInfinity(options.Ceiling) ? settings.CeilingRatioOrDefault : "none";
        foreach (var (key, value) in TrainingRecord.Settings(options, pairs.Subset, from, threads)) hyperparameters[key] = value;
        System.Console.WriteLine($"topiary {ToolInfo.Version}: transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}) on {data.Name}: "
            + $"{data.Split.Train.Count:N0} / {data.Split.Validation.Count:N0} / {data.Split.Test.Count:N0} verse pairs (train / validation / test; {data.FittingPairs:N0} of {data.CorpusPairs:N0} fit the context), "
            + $"vocabulary {data.Vocabulary.Size}, method {options.Method}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        var experiment = new TranslationSettings { CeilingRatio = settings.CeilingRatioOrDefault, BleuPairs = pairs.BleuPairs };
        var result = TerminalProgress.Run(progress =>
            TranslationExperiment.Run(data, config, options, experiment, hyperparameters, start, progress, logger, cancellationToken), "perplexity");

        var written = LanguageRunOutputs.Write(outDirectory, result.Experiment.Report, (path, metadata) =>
            LanguageModelFile.Save(path, (TransformerTranslationModel)result.Experiment.Model, result.Vocabulary, result.Experiment.Masks, metadata));
        LanguageSummary.Print(result.Experiment.Report, written);
        return 0;
    }

    /// <summary>Relevance decay against its baselines, per seed one split of verse pairs and one dense model shared by the methods, compared by test perplexity and BLEU.</summary>
    public int Compare(CompareSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var pairs = settings.Pairs(ModelDefaults.CompareBleuPairs, settings.SubsetOrDefault);
        var sizes = settings.Sizes;
        var dense = settings.Dense();
        var perMethod = settings.MethodLabels.ToDictionary(m => m, settings.ForMethod);
        foreach (var options in perMethod.Values) options.Validate();

        var corpus = pairs.LoadCorpus();
        // Every seed's split shares the corpus-wide vocabulary, so one config serves them all.
        var vocabulary = TranslationVocabulary.FromPairs(corpus.Pairs);
        var seeds = settings.SeedList;
        var splits = seeds.ToDictionary(seed => seed, seed => pairs.Data(corpus, seed, sizes.Context, vocabulary));
        var config = sizes.Config(splits[seeds[0]].Vocabulary.Size);
        var experiment = new TranslationSettings { CeilingRatio = settings.CeilingRatioOrDefault, BleuPairs = pairs.BleuPairs };

        TorchBackend.SetThreads(settings.ThreadCount);
        var recorded = ComparisonRunner.Settings(settings, dense, perMethod);
        foreach (var (key, value) in pairs.Settings(config)) recorded[key] = value;
        recorded["ceiling"] = double.IsPositiveInfinity(dense.Ceiling) ? $"{experiment.CeilingRatio} × dense validation perplexity" : dense.Ceiling;
        var first = splits[seeds[0]];
        var plan = new ComparisonPlan(TransformerTranslationModel.ArchitectureName, first.Source, settings.MethodLabels, seeds, dense, m => perMethod[m],
            seed => new TranslationComparisonSubject(splits[seed], config, experiment));
        return ComparisonRunner.Execute(settings, plan, recorded,
            $"transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers) on {first.Name}, {first.Split.Train.Count:N0} / {first.Split.Validation.Count:N0} / {first.Split.Test.Count:N0} verse pairs",
            logger, cancellationToken);
    }

    /// <summary>Test perplexity and BLEU on the verse pairs the run held out (the modules, seed, held-out sizes and subset stored in the file's metadata).</summary>
    public int Eval(LoadedModel loaded, EvalSettings settings)
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
