using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Console;
using Topiary.Experiments;
using Topiary.Language;
using Topiary.Models;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary prune --model transformer-mt</c>: a character-level encoder-decoder translating verse pairs of two
/// Bibles, trained dense and pruned with the same loop as the other models, gated by validation target perplexity,
/// and scored by BLEU before and after pruning.
/// </summary>
internal static class TranslationPruneCommand
{
    public static readonly string Help = $"""
        topiary prune --model transformer-mt [options]   prune a character-level Transformer translating Spanish to English

        {TranslationOptions.Help}
          --bleu-pairs N              test pairs whose greedy translations BLEU scores, dense and pruned (default {TranslationOptions.DefaultBleuPairs})
        {TransformerFlags.Text(TranslationSubject.DefaultOptions, "pairs")}
          --seed S                    seed of initialization, split and batch order (default 1234)
          --from FILE                 start from a saved transformer-mt model instead of dense training
        {RunFlags.Help}
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        args.String("model");
        args.Choice("preset", "demo", new[] { "demo" });
        if (args.Has("data") || args.Has("corpus")) throw new CliUsageException($"--{(args.Has("data") ? "data" : "corpus")}: transformer-mt reads verse pairs; use --source and --target");
        var defaults = TranslationSubject.DefaultOptions;
        var (options, ceilingRatio) = TransformerFlags.ReadGate(args, PruneCommand.ReadOptions(args, defaults), TransformerTranslationModel.ArchitectureName);
        var pairs = TranslationOptions.Read(args, TranslationOptions.DefaultBleuPairs);
        var sizes = TransformerSizes.Read(args);
        var from = args.String("from");
        var (outDirectory, threads) = RunFlags.Read(args);
        args.RejectUnknown("prune");
        options.Validate();
        Experiment.RequireSupported(TransformerTranslationModel.ArchitectureName, LanguageModelSubject.SupportedMethods, options.Method);

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
        var start = loaded is null ? null : new StartingPoint(loaded.Model, loaded.Masks);

        var hyperparameters = pairs.Settings(config);
        hyperparameters["ceiling_ratio"] = double.IsPositiveInfinity(options.Ceiling) ? ceilingRatio : "none";
        foreach (var (key, value) in PruneCommand.TrainingSettings(options, pairs.Subset, from, threads)) hyperparameters[key] = value;
        System.Console.WriteLine($"topiary {ToolInfo.Version}: transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}) on {data.Name}: "
            + $"{data.Split.Train.Count:N0} / {data.Split.Validation.Count:N0} / {data.Split.Test.Count:N0} verse pairs (train / validation / test; {data.FittingPairs:N0} of {data.CorpusPairs:N0} fit the context), "
            + $"vocabulary {data.Vocabulary.Size}, method {options.Method}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        var settings = new TranslationSettings { CeilingRatio = ceilingRatio, BleuPairs = pairs.BleuPairs };
        using var subject = new TranslationSubject(data, config, settings, logger);
        var result = TerminalProgress.Run(progress =>
            Experiment.Run(subject, options, hyperparameters, start, progress: progress, logger: logger, cancellationToken: cancellationToken), "perplexity");

        var written = RunOutputs.Write(outDirectory, result, subject);
        Summary.Print(result.Report, written);
        return 0;
    }
}
