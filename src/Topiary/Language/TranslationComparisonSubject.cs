using Microsoft.Extensions.Logging;
using Topiary.Comparison;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Language;

/// <summary>
/// A <see cref="TransformerTranslationModel"/> on one seed's split of verse pairs (<see cref="TranslationData"/>),
/// pruned by <see cref="TranslationExperiment"/>. As for the language model, an unset ceiling is resolved per run
/// from the dense model the seed's methods share, so all of them get the same one; each run also scores BLEU.
/// </summary>
public sealed class TranslationComparisonSubject : IComparisonSubject
{
    private readonly TranslationData data;
    private readonly TransformerConfig config;
    private readonly TranslationSettings settings;

    /// <summary>Wraps one seed's <paramref name="data"/>; <paramref name="config"/>'s vocabulary must be the data's.</summary>
    /// <exception cref="ArgumentException">The vocabularies differ.</exception>
    public TranslationComparisonSubject(TranslationData data, TransformerConfig config, TranslationSettings settings)
    {
        if (data.Vocabulary.Size != config.VocabularySize)
            throw new ArgumentException($"the pairs have {data.Vocabulary.Size} ids, the model {config.VocabularySize}", nameof(config));
        this.data = data;
        this.config = config;
        // The seed's dense model is scored once per method otherwise; sample translations are not part of a comparison.
        this.settings = settings with { ScoreDense = false, SampleCount = 0 };
        Task = new TranslationTask(data.Split, data.Vocabulary, config.ContextLength);
    }

    /// <inheritdoc />
    public ITrainingTask Task { get; }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> CreateModel() => new TransformerTranslationModel(config);

    /// <inheritdoc />
    public PrunedRun Prune(PruningOptions options, nn.Module<Tensor, Tensor> start, IReadOnlyDictionary<string, object> hyperparameters,
        IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        var result = TranslationExperiment.Run(data, config, options, settings, hyperparameters, () => new StartingPoint(start, null),
            progress, logger, cancellationToken);
        return PrunedRun.Of(result.Experiment, result.Options.Ceiling);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The pairs are managed strings; nothing native to free.
    }
}
