using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Comparison;
using Topiary.Experiments;
using Topiary.Language;
using Topiary.Models;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary compare --model transformer-mt</c>: relevance decay against its baselines on the translation model,
/// per seed one split of verse pairs and one dense model shared by the methods, compared by test perplexity and BLEU.
/// </summary>
internal static class TranslationCompareCommand
{
    /// <summary>Seeds of a comparison with no flags.</summary>
    public const int DefaultSeeds = 2;

    /// <summary>Verse pairs a comparison with no flags uses (the first that fit the context).</summary>
    public const int DefaultSubset = 8_000;

    /// <summary>Test pairs each run's BLEU translates, unless set.</summary>
    public const int DefaultBleuPairs = 200;

    /// <summary>
    /// The budget of a comparison with no flags: the translation defaults on the first <see cref="DefaultSubset"/>
    /// fitting pairs (7,000 training pairs, 218 steps per epoch), three dense epochs per seed and one pruning epoch
    /// per method evaluated every 25 batches (README: measured time).
    /// </summary>
    public static PruningOptions Defaults { get; } = TranslationSubject.DefaultOptions with { DenseEpochs = 3, Epochs = 1, EvalEvery = 25 };

    public static readonly string Help = $"""
        topiary compare --model transformer-mt [options]   relevance vs its baselines on the translation model, by test perplexity and BLEU

          --methods LIST              comma-separated, some of relevance,l2,l1,none (default all four)
          --seeds N                   seeds per method: S, S+1, … (default {DefaultSeeds})
          --seed S                    first seed (default 1234)
        {TranslationOptions.Help}
          --bleu-pairs N              test pairs each run's BLEU translates (default {DefaultBleuPairs})
          (--subset defaults to {DefaultSubset} here)
          --ceiling P                 validation perplexity ceiling for cropping and selection (≥ 1)
          --ceiling-ratio R           without --ceiling: R × the seed's dense validation perplexity (default 1.1)
          --out DIR                   output folder (default runs/compare-<timestamp>)
          --threads N                 libtorch threads (default: all cores)
          and the training settings of 'topiary prune --model transformer-mt' (--epochs, --dense-epochs, --eval-every,
          --crop-fraction, --gamma, …), applied to every method (defaults here: --dense-epochs {Defaults.DenseEpochs} --epochs {Defaults.Epochs} --eval-every {Defaults.EvalEvery});
          each seed trains one dense model that every method starts from.
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        args.String("model");
        if (args.Has("data") || args.Has("corpus")) throw new CliUsageException($"--{(args.Has("data") ? "data" : "corpus")}: transformer-mt reads verse pairs; use --source and --target");
        var common = CompareRun.Read(args, LanguageCompareCommand.DefaultMethods, LanguageModelSubject.SupportedMethods, Defaults.Seed, DefaultSeeds,
            method => Experiment.RequireSupported(TransformerTranslationModel.ArchitectureName, LanguageModelSubject.SupportedMethods, method));
        var pairs = TranslationOptions.Read(args, DefaultBleuPairs);
        pairs = pairs with { Subset = pairs.Subset ?? DefaultSubset };
        common = common with { Subset = pairs.Subset };
        var sizes = TransformerSizes.Read(args);
        var (dense, ceilingRatio) = TransformerFlags.ReadGate(args, PruneCommand.ReadOptionsOver(args, Defaults), TransformerTranslationModel.ArchitectureName);
        var ceiling = dense.Ceiling;
        var perMethod = common.Methods.ToDictionary(m => m, m => MethodLabel.Apply(m, dense));
        args.RejectUnknown("compare");
        foreach (var options in perMethod.Values) options.Validate();

        var corpus = pairs.LoadCorpus();
        // Every seed's split shares the corpus-wide vocabulary, so one config serves them all.
        var vocabulary = TranslationVocabulary.FromPairs(corpus.Pairs);
        var splits = common.Seeds.ToDictionary(seed => seed, seed => pairs.Data(corpus, seed, sizes.Context, vocabulary));
        var config = sizes.Config(splits[common.Seeds[0]].Vocabulary.Size);
        var settings = new TranslationSettings { CeilingRatio = ceilingRatio, BleuPairs = pairs.BleuPairs };

        TorchBackend.SetThreads(common.Threads);
        var recorded = common.Settings(dense, perMethod, TransformerTranslationModel.ArchitectureName);
        foreach (var (key, value) in pairs.Settings(config)) recorded[key] = value;
        recorded["ceiling"] = double.IsPositiveInfinity(ceiling) ? $"{ceilingRatio} × dense validation perplexity" : ceiling;
        var first = splits[common.Seeds[0]];
        var plan = new ComparisonPlan(TransformerTranslationModel.ArchitectureName, first.Source, common.Methods, common.Seeds, dense, m => perMethod[m],
            // The seed's dense model is scored once per method otherwise; sample translations are not part of a comparison.
            seed => new TranslationSubject(splits[seed], config, settings with { ScoreDense = false, SampleCount = 0 }, logger));
        return common.Execute(plan, recorded,
            $"transformer-mt (d_model {config.ModelDim}, {config.Layers} + {config.Layers} layers) on {first.Name}, {first.Split.Train.Count:N0} / {first.Split.Validation.Count:N0} / {first.Split.Test.Count:N0} verse pairs",
            logger, cancellationToken);
    }
}
