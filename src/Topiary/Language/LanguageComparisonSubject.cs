using Microsoft.Extensions.Logging;
using Topiary.Comparison;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Language;

/// <summary>
/// A <see cref="TransformerLanguageModel"/> on one seed's split of a corpus, pruned by
/// <see cref="LanguageModelExperiment"/>. The ceiling, unless set, is resolved per run from the dense
/// model, which every method of the seed shares, so all of them get the same one.
/// </summary>
public sealed class LanguageComparisonSubject : IComparisonSubject
{
    private readonly LanguageModelingData data;
    private readonly TransformerConfig config;
    private readonly LanguageExperimentSettings settings;

    /// <summary>Splits <paramref name="corpus"/> by <paramref name="seed"/>; <paramref name="config"/>'s vocabulary must be the corpus tokenizer's.</summary>
    public LanguageComparisonSubject(TextCorpus corpus, TransformerConfig config, LanguageExperimentSettings settings, int seed, int? subset = null)
    {
        data = LanguageModelingData.From(corpus, seed, config.ContextLength, subset);
        if (data.Tokenizer.Size != config.VocabularySize)
        {
            data.Dispose();
            throw new ArgumentException($"the corpus has {data.Tokenizer.Size} tokens, the model {config.VocabularySize}", nameof(config));
        }
        this.config = config;
        // Samples are not part of a comparison; generating them would only cost time.
        this.settings = settings with { SamplePrompts = [] };
        Task = new LanguageModelingTask(data, config.ContextLength);
    }

    /// <inheritdoc />
    public ITrainingTask Task { get; }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> CreateModel() => new TransformerLanguageModel(config);

    /// <inheritdoc />
    public PrunedRun Prune(PruningOptions options, nn.Module<Tensor, Tensor> start, IReadOnlyDictionary<string, object> hyperparameters,
        IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        var result = LanguageModelExperiment.Run(data, config, options, settings, hyperparameters, () => new StartingPoint(start, null),
            progress, logger, cancellationToken);
        return PrunedRun.Of(result.Experiment, result.Options.Ceiling);
    }

    /// <inheritdoc />
    public void Dispose() => data.Dispose();
}
