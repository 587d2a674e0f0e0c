using Topiary.Reporting;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Pruning;
using Topiary.Backend;

namespace Topiary.Language;

/// <summary>
/// Translation as a training task for the dense trainer and the pruning loop: teacher-forced
/// next-character cross-entropy of the target given the source (<see cref="TranslationBatch"/>),
/// measured by target perplexity exp(mean negative log-likelihood per target id, the end id
/// included), lower being better, so the pruning gate is a validation-perplexity ceiling as for the
/// language model. Each epoch shuffles the training pairs by (seed, epoch). <see cref="Bleu"/> scores
/// greedy translations separately. Batches are <see cref="TransformerTranslationModel.Pack"/>ed.
/// </summary>
public sealed class TranslationTask(ParallelSplit split, TranslationVocabulary vocabulary, int contextLength) : ITrainingTask
{
    /// <summary>Pairs per batch when evaluating.</summary>
    public const int EvaluationBatchSize = 32;

    /// <summary>The pairs.</summary>
    public ParallelSplit Split { get; } = split;

    /// <summary>The ids.</summary>
    public TranslationVocabulary Vocabulary { get; } = vocabulary;

    /// <summary>The model's context length: sources and targets are cut to it.</summary>
    public int ContextLength { get; } = contextLength >= 2 ? contextLength : throw new ArgumentOutOfRangeException(nameof(contextLength));

    /// <inheritdoc />
    public MetricKind Metric => MetricKind.Perplexity;

    /// <inheritdoc />
    public int StepsPerEpoch(int batchSize) => Math.Max(1, Split.Train.Count / batchSize);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize)
    {
        // A fixed mix of (seed, epoch), as the language-model task's.
        var order = Enumerable.Range(0, Split.Train.Count).ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch + 1)).Shuffle(order);
        for (var step = 0; step < StepsPerEpoch(batchSize); step++)
            yield return Packed(order.Skip(step * batchSize).Take(batchSize).Select(i => Split.Train[i]).ToList());
    }

    private (Tensor Inputs, Tensor Targets) Packed(IReadOnlyList<VersePair> pairs)
    {
        using var batch = TranslationBatch.From(pairs, Vocabulary, ContextLength, padToMaxLength: true);
        return (TransformerTranslationModel.Pack(batch.Source, batch.DecoderInput), batch.DecoderTarget.clone());
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, Tensor targets) =>
        nn.functional.cross_entropy(output.reshape(-1, output.shape[^1]), targets.reshape(-1), ignore_index: TranslationBatch.IgnoredLabel);

    /// <inheritdoc />
    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => Evaluate(model, Split.Validation);

    /// <inheritdoc />
    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) => Evaluate(model, Split.Test);

    /// <summary>Target perplexity and mean loss per target id over <paramref name="pairs"/>.</summary>
    public EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, IReadOnlyList<VersePair> pairs)
    {
        if (pairs.Count == 0) throw new ArgumentException("no pairs to evaluate", nameof(pairs));
        return Evaluation.InEvalMode(model, () =>
        {
            double lossSum = 0;
            long labels = 0;
            foreach (var chunk in pairs.Chunk(EvaluationBatchSize))
            {
                using var scope = NewDisposeScope();
                var (inputs, targets) = Packed(chunk);
                var logits = model.forward(inputs);
                lossSum += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1),
                    ignore_index: TranslationBatch.IgnoredLabel, reduction: nn.Reduction.Sum).to(float64).item<double>();
                labels += targets.ne(HeldScalar.Of(TranslationBatch.IgnoredLabel)).sum().item<long>();
            }
            var meanLoss = lossSum / labels;
            return new EvaluationResult(Math.Exp(meanLoss), meanLoss);
        });
    }

    /// <summary>
    /// Corpus BLEU (<see cref="Language.Bleu"/>) of the model's greedy translations of <paramref name="pairs"/>
    /// against their targets, with the translations. A translation is at most context length − 1
    /// characters, so a longer target cannot be matched in full.
    /// </summary>
    public (BleuResult Bleu, IReadOnlyList<string> Translations) Bleu(TransformerTranslationModel model, IReadOnlyList<VersePair> pairs)
    {
        return Evaluation.InEvalMode(model, () =>
        {
            var translations = new List<string>();
            foreach (var chunk in pairs.Chunk(EvaluationBatchSize))
            {
                using var batch = TranslationBatch.From(chunk, Vocabulary, ContextLength);
                translations.AddRange(model.Translate(batch.Source, batch.SourcePadding, Vocabulary.Begin, Vocabulary.End, ContextLength - 1)
                    .Select(Vocabulary.Decode));
            }
            return (Language.Bleu.Corpus(translations, pairs.Select(p => p.Target).ToList()), (IReadOnlyList<string>)translations);
        });
    }
}
