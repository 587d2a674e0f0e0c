using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// The translation side of Bonetta et al. (arXiv 2204.04977, §3: a Transformer on WMT14 En–De, a 2 + 2-layer one on
/// Taskmaster-1) on an offline parallel corpus: a character-level <see cref="TransformerTranslationModel"/> on one
/// seed's split of verse pairs, pruned under a validation target-perplexity ceiling; the report adds corpus BLEU of the
/// dense and of the pruned model's greedy translations of the same test pairs.
/// </summary>
public sealed class TranslationSubject : TransformerSubject
{
    private readonly TranslationData data;
    private readonly TranslationSettings settings;
    private readonly TranslationTask task;
    private readonly TranslationSource? origin;
    private readonly ILogger logger;

    /// <summary>
    /// Topiary's translation defaults, sized to finish within 20 minutes on 2 cores: the language model's (Adam lr 1e-3,
    /// batch 32, t = 0.15 every 50 batches, γ0 = 1e-3, α = 1; not tuned for this model) with five dense epochs and two
    /// pruning epochs over the about 15,600 training pairs. lr 3e-3 was tried and rejected: one dense epoch ended at a
    /// lower training loss (1.89 against 2.00), but five ended at a higher validation perplexity (3.478 against 3.375
    /// after four at 1e-3), and after the first two crops the decayed model never came back under the ceiling.
    /// </summary>
    public static PruningDefaults Defaults { get; } = LanguageModelSubject.Defaults with
    {
        Options = LanguageModelSubject.Defaults.Options with { DenseEpochs = 5, Epochs = 2 },
    };

    /// <summary>Prunes a model of <paramref name="config"/> on <paramref name="data"/>.</summary>
    /// <param name="data">One seed's split of verse pairs.</param>
    /// <param name="config">The model's sizes; its vocabulary must be the data's.</param>
    /// <param name="settings">Ceiling ratio, BLEU pairs and samples.</param>
    /// <param name="origin">Where the pairs came from, which the saved model records for <c>eval</c> (null: not recorded).</param>
    /// <param name="logger">Receives the BLEU scores as they are measured.</param>
    /// <exception cref="ArgumentException">The vocabularies differ.</exception>
    public TranslationSubject(TranslationData data, TransformerConfig config, TranslationSettings settings, TranslationSource? origin = null, ILogger? logger = null)
        : this(data, Matching(data, config), settings, new TranslationTask(data.Split, data.Vocabulary, config.ContextLength), origin, logger)
    {
    }

    private TranslationSubject(TranslationData data, TransformerConfig config, TranslationSettings settings, TranslationTask task, TranslationSource? origin,
        ILogger? logger)
        : base(TransformerTranslationModel.ArchitectureName, config, settings.CeilingRatio, TransformerTranslationModel.GroupOf, task,
            new DatasetInfo(data.Name, data.Source, data.Split.Train.Count, data.Split.Validation.Count, data.Split.Test.Count))
    {
        this.data = data;
        this.settings = settings;
        this.task = task;
        this.origin = origin;
        this.logger = logger ?? NullLogger.Instance;
    }

    private static TransformerConfig Matching(TranslationData data, TransformerConfig config) =>
        data.Vocabulary.Size == config.VocabularySize ? config
            : throw new ArgumentException($"the model has {config.VocabularySize} ids, the corpus vocabulary {data.Vocabulary.Size}", nameof(config));

    /// <summary>The pairs the subject trains on.</summary>
    public TranslationData Data => data;

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateModel() => new TransformerTranslationModel(Config);

    /// <inheritdoc />
    public override RunObserver Observe() => new BleuObserver(this);

    /// <inheritdoc />
    public override JsonObject ModelMetadata(RunReport report)
    {
        var metadata = new JsonObject();
        if (report.Translation is { } translation) metadata["test_bleu"] = translation.Pruned.Score;
        if (origin is null) return metadata;
        metadata["source"] = origin.SourceModule;
        metadata["target"] = origin.TargetModule;
        metadata["validation_pairs"] = origin.ValidationPairs;
        metadata["test_pairs"] = origin.TestPairs;
        if (origin.Subset is { } subset) metadata["subset"] = subset;
        return metadata;
    }

    /// <inheritdoc />
    public override void SaveModel(string path, nn.Module<Tensor, Tensor> model, PruningMasks masks, JsonObject metadata) =>
        LanguageModelFile.Save(path, (TransformerTranslationModel)model, data.Vocabulary, masks, metadata);

    /// <summary>BLEU of the dense and the pruned model's greedy translations of the same test pairs.</summary>
    private sealed class BleuObserver(TranslationSubject subject) : RunObserver
    {
        private readonly List<VersePair> pairs = subject.data.Split.Test.Take(subject.settings.BleuPairs ?? int.MaxValue).ToList();
        private (BleuResult Bleu, IReadOnlyList<string> Translations)? dense;
        private (BleuResult Bleu, IReadOnlyList<string> Translations)? pruned;

        public override void Dense(nn.Module<Tensor, Tensor> model)
        {
            if (subject.settings.ScoreDense) dense = Score("dense", model);
        }

        public override void Pruned(nn.Module<Tensor, Tensor> model) => pruned = Score("pruned", model);

        public override RunReport Complete(RunReport report)
        {
            var (prunedBleu, prunedTranslations) = pruned ?? throw new InvalidOperationException("the pruned model was not scored");
            var samples = dense is not { } d ? [] : pairs.Take(subject.settings.SampleCount).Select((p, i) =>
                new TranslationSample(p.Source, p.Target, d.Translations[i], prunedTranslations[i])).ToList();
            return report with { Translation = new TranslationScores(pairs.Count, dense?.Bleu, prunedBleu, samples) };
        }

        private (BleuResult, IReadOnlyList<string>) Score(string label, nn.Module<Tensor, Tensor> model)
        {
            var scored = subject.task.Bleu((TransformerTranslationModel)model, pairs);
            subject.logger.LogInformation("{Model} model: test BLEU {Bleu:F2} on {Pairs} pairs", label, scored.Bleu.Score, pairs.Count);
            return scored;
        }
    }
}
