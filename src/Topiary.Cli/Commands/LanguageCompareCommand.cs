using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Comparison;
using Topiary.Experiments;
using Topiary.Language;
using Topiary.Models;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary compare --model transformer-lm</c>: relevance decay against its baselines on the character-level
/// language model, per seed one corpus split and one dense model shared by the methods, compared by test perplexity.
/// </summary>
internal static class LanguageCompareCommand
{
    /// <summary>The methods the language model runs, flagship first.</summary>
    public static string DefaultMethods => string.Join(",", LanguageModelSubject.SupportedMethods);

    /// <summary>Seeds of a comparison with no flags.</summary>
    public const int DefaultSeeds = 2;

    /// <summary>Characters of the corpus a comparison with no flags uses (the first million of the World English Bible).</summary>
    public const int DefaultSubset = 1_000_000;

    /// <summary>
    /// The budget of a comparison with no flags: the language model's own defaults on the first
    /// <see cref="DefaultSubset"/> characters (212 steps per epoch), two dense epochs per seed and two pruning
    /// epochs per method, evaluated every 25 batches: up to 17 crops of 15%, enough for the ceiling rather
    /// than the budget to stop the methods. 4 methods × 2 seeds are 4,240 steps plus about 300 evaluations
    /// (each about 2.6 steps' worth): an estimate of 20 minutes on 2 idle cores (README).
    /// </summary>
    public static PruningOptions Defaults { get; } = LanguageModelSubject.DefaultOptions with { DenseEpochs = 2, Epochs = 2, EvalEvery = 25 };

    public static readonly string Help = $"""
        topiary compare --model transformer-lm [options]   relevance vs its baselines on the language model, by test perplexity

          --methods LIST              comma-separated, some of relevance,l2,l1,none (default all four)
          --seeds N                   seeds per method: S, S+1, … (default {DefaultSeeds})
          --seed S                    first seed (default 1234)
        {TransformerOptions.Help}
          --subset N                  use only the first N characters of the corpus (default {DefaultSubset})
          --ceiling P                 validation perplexity ceiling for cropping and selection (≥ 1)
          --ceiling-ratio R           without --ceiling: R × the seed's dense validation perplexity (default 1.1)
          --out DIR                   output folder (default runs/compare-<timestamp>)
          --threads N                 libtorch threads (default: all cores)
          and the training settings of 'topiary prune --model transformer-lm' (--epochs, --dense-epochs, --eval-every,
          --crop-fraction, --gamma, …), applied to every method (defaults here: --dense-epochs 2 --epochs 2 --eval-every 25);
          each seed trains one dense model that every method starts from.
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        args.String("model");
        if (args.Has("data")) throw new CliUsageException("--data: transformer-lm reads text; use --corpus");
        var common = CompareRun.Read(args, DefaultMethods, LanguageModelSubject.SupportedMethods, Defaults.Seed, DefaultSeeds,
            method => Experiment.RequireSupported(TransformerLanguageModel.ArchitectureName, LanguageModelSubject.SupportedMethods, method));
        common = common with { Subset = common.Subset ?? DefaultSubset };
        var sizes = TransformerOptions.Read(args);
        var (dense, ceilingRatio) = TransformerFlags.ReadGate(args, PruneCommand.ReadOptionsOver(args, Defaults), TransformerLanguageModel.ArchitectureName);
        var ceiling = dense.Ceiling;
        var settings = new LanguageExperimentSettings { CeilingRatio = ceilingRatio };
        var perMethod = common.Methods.ToDictionary(m => m, m => MethodLabel.Apply(m, dense));
        args.RejectUnknown("compare");
        foreach (var options in perMethod.Values) options.Validate();
        if (common.Subset is < 1) throw new CliUsageException($"--subset: must be at least 1, got {common.Subset}");

        var corpus = sizes.LoadCorpus();
        // The tokenizer comes from the whole corpus, so every seed's split has the same vocabulary.
        var config = sizes.Config(CharacterTokenizer.FromText(corpus.Text).Size);
        try { LanguageModelingData.From(corpus, common.Seeds[0], config.ContextLength, common.Subset).Dispose(); }
        catch (ArgumentException e) { throw new CliUsageException($"--corpus: {corpus.Source}: {e.Message.Split(" (Parameter")[0]}"); }

        TorchBackend.SetThreads(common.Threads);
        var recorded = common.Settings(dense, perMethod, TransformerLanguageModel.ArchitectureName);
        foreach (var (key, value) in TransformerOptions.Settings(config, sizes.CorpusName)) recorded[key] = value;
        recorded["ceiling"] = double.IsPositiveInfinity(ceiling) ? $"{settings.CeilingRatio} × dense validation perplexity" : ceiling;
        var plan = new ComparisonPlan(TransformerLanguageModel.ArchitectureName, corpus.Source, common.Methods, common.Seeds, dense, m => perMethod[m],
            // Samples are not part of a comparison; generating them would only cost time.
            seed => new LanguageModelSubject(LanguageModelingData.From(corpus, seed, config.ContextLength, common.Subset), config,
                settings with { SamplePrompts = [] }, common.Subset));
        return common.Execute(plan, recorded, $"transformer-lm (d_model {config.ModelDim}, {config.Layers} layers) on {corpus.Name}, first {Math.Min(common.Subset.Value, corpus.Text.Length):N0} characters",
            logger, cancellationToken);
    }
}
