using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Console;
using Topiary.Experiments;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary prune --model transformer-lm</c>: a character-level Transformer language model on an
/// offline English corpus, trained dense and pruned with the same loop as the image models, gated by
/// validation perplexity.
/// </summary>
internal static class LanguagePruneCommand
{
    public static readonly string Help = $"""
        topiary prune --model transformer-lm [options]   prune a character-level Transformer language model

        {TransformerOptions.Help}
        {TransformerFlags.Text(LanguageModelSubject.DefaultOptions, "windows")}
          --seed S                    seed of initialization, split, batch order and samples (default 1234)
          --subset N                  use only the first N characters of the corpus
          --from FILE                 start from a saved transformer-lm model instead of dense training
        {RunFlags.Help}
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        args.String("model");
        args.Choice("preset", "demo", new[] { "demo" });
        if (args.Has("data")) throw new CliUsageException("--data: transformer-lm reads text; use --corpus");
        var defaults = LanguageModelSubject.DefaultOptions;
        var (options, ceilingRatio) = TransformerFlags.ReadGate(args, PruneCommand.ReadOptions(args, defaults), TransformerLanguageModel.ArchitectureName);
        var settings = new LanguageExperimentSettings { CeilingRatio = ceilingRatio };
        var sizes = TransformerOptions.Read(args);
        var subset = args.Has("subset") ? args.Int("subset", 0) : (int?)null;
        var from = args.String("from");
        var (outDirectory, threads) = RunFlags.Read(args);
        args.RejectUnknown("prune");
        options.Validate();
        Experiment.RequireSupported(TransformerLanguageModel.ArchitectureName, LanguageModelSubject.SupportedMethods, options.Method);
        if (subset is < 1) throw new CliUsageException($"--subset: must be at least 1, got {subset}");

        // Bad input is reported before the backend self-check and the model are paid for.
        var corpus = sizes.LoadCorpus();

        LoadedModel? loaded = from is null ? null : ModelFile.Load(from);
        if (loaded is not null && loaded.Architecture != TransformerLanguageModel.ArchitectureName)
            throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model, not transformer-lm");
        // A saved model brings its own sizes and vocabulary; the ids of the corpus must be its ids.
        var tokenizer = loaded is null ? null : LanguageModelFile.Tokenizer(from!, loaded);
        var config = loaded is null
            ? null
            : LanguageModelFile.Config(from!, loaded.ArchitectureConfig);
        LanguageModelingData data;
        try { data = LanguageModelingData.From(corpus, options.Seed, config?.ContextLength ?? sizes.Sizes.Context, subset, tokenizer); }
        catch (ArgumentException e) { throw new CliUsageException($"--corpus: {corpus.Source}: {e.Message.Split(" (Parameter")[0]}"); }
        config ??= sizes.Config(data.Tokenizer.Size);
        using var subject = new LanguageModelSubject(data, config, settings, subset);
        var backend = BackendSummary.Start(threads, logger);
        var start = loaded is null ? null : new StartingPoint(loaded.Model, loaded.Masks);

        var hyperparameters = Hyperparameters(options, settings, config, sizes.CorpusName, subset, from, threads);
        System.Console.WriteLine($"topiary {ToolInfo.Version}: transformer-lm (d_model {config.ModelDim}, {config.Layers} layers, {config.Heads} heads, context {config.ContextLength}) on {corpus.Name}: "
            + $"{data.Train.shape[0]:N0} / {data.Validation.shape[0]:N0} / {data.Test.shape[0]:N0} characters (train / validation / test), vocabulary {data.Tokenizer.Size}, method {options.Method}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        var result = TerminalProgress.Run(progress =>
            Experiment.Run(subject, options, hyperparameters, start, progress: progress, logger: logger, cancellationToken: cancellationToken), "perplexity");

        var written = RunOutputs.Write(outDirectory, result, subject);
        Summary.Print(result.Report, written);
        return 0;
    }

    private static Dictionary<string, object> Hyperparameters(PruningOptions o, LanguageExperimentSettings s, TransformerConfig c, string corpus,
        int? subset, string? from, int threads)
    {
        var settings = TransformerOptions.Settings(c, corpus);
        settings["ceiling_ratio"] = double.IsPositiveInfinity(o.Ceiling) ? s.CeilingRatio : "none";
        foreach (var (key, value) in PruneCommand.TrainingSettings(o, subset, from, threads)) settings[key] = value;
        return settings;
    }
}
