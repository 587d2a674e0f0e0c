using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Pruning;
using Topiary.Backend;

namespace Topiary.Language;

/// <summary>
/// Next-token prediction by cross-entropy, measured by perplexity exp(mean negative log-likelihood per
/// token), where lower is better. Training batches are windows of <see cref="ContextLength"/> + 1 tokens
/// of the training stream: each epoch shifts the window grid by an offset drawn from (seed, epoch)
/// and shuffles the windows, so every epoch sees the whole stream in a new, repeatable order.
/// Validation and test use the non-overlapping windows of their streams, in order.
/// </summary>
public sealed class LanguageModelingTask(LanguageModelingData data, int contextLength) : ITrainingTask
{
    /// <summary>Windows per batch when evaluating.</summary>
    public const int EvaluationBatchSize = 32;

    /// <summary>The data behind the task.</summary>
    public LanguageModelingData Data { get; } = data;

    /// <summary>Tokens of input per window.</summary>
    public int ContextLength { get; } = contextLength > 0 ? contextLength : throw new ArgumentOutOfRangeException(nameof(contextLength));

    /// <inheritdoc />
    public MetricKind Metric => MetricKind.Perplexity;

    private long TrainWindows => (Data.Train.shape[0] - 1) / ContextLength;

    /// <inheritdoc />
    public int StepsPerEpoch(int batchSize) => (int)Math.Max(1, (TrainWindows - 1) / batchSize);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize)
    {
        // A fixed mix of (seed, epoch); HashCode.Combine would differ from process to process.
        var random = new Random(unchecked(seed * 1_000_003 + epoch + 1));
        var offset = random.Next(ContextLength);
        // One window fewer than the stream holds, so that the shifted grid always fits.
        var starts = Enumerable.Range(0, (int)TrainWindows - 1).Select(k => (long)offset + (long)k * ContextLength).ToArray();
        random.Shuffle(starts);
        var steps = StepsPerEpoch(batchSize);
        for (var step = 0; step < steps; step++)
        {
            var batch = starts.AsSpan(step * batchSize, Math.Min(batchSize, starts.Length - step * batchSize)).ToArray();
            yield return Windows(Data.Train, batch);
        }
    }

    /// <summary>(inputs, targets) of the windows starting at <paramref name="starts"/>: targets are inputs shifted by one.</summary>
    private (Tensor Inputs, Tensor Targets) Windows(Tensor stream, long[] starts)
    {
        using var scope = NewDisposeScope();
        var index = tensor(starts).unsqueeze(1) + arange(HeldScalar.Of(ContextLength + 1), dtype: int64).unsqueeze(0);
        var windows = stream.index_select(0, index.flatten()).view(starts.Length, ContextLength + 1);
        var inputs = windows.narrow(1, 0, ContextLength).contiguous();
        var targets = windows.narrow(1, 1, ContextLength).contiguous();
        return (inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, Tensor targets) =>
        nn.functional.cross_entropy(output.reshape(-1, output.shape[^1]), targets.reshape(-1));

    /// <inheritdoc />
    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => Evaluate(model, Data.Validation);

    /// <inheritdoc />
    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) => Evaluate(model, Data.Test);

    /// <summary>Perplexity and mean loss per token over the non-overlapping windows of <paramref name="stream"/>.</summary>
    public EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, Tensor stream)
    {
        var windows = (stream.shape[0] - 1) / ContextLength;
        if (windows == 0) throw new ArgumentException($"the stream of {stream.shape[0]} tokens is shorter than one window", nameof(stream));
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            double lossSum = 0;
            for (long first = 0; first < windows; first += EvaluationBatchSize)
            {
                using var scope = NewDisposeScope();
                var starts = Enumerable.Range(0, (int)Math.Min(EvaluationBatchSize, windows - first)).Select(i => (first + i) * ContextLength).ToArray();
                var (inputs, targets) = Windows(stream, starts);
                var logits = model.forward(inputs);
                lossSum += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), reduction: nn.Reduction.Sum)
                    .to(float64).item<double>();
            }
            var meanLoss = lossSum / (windows * ContextLength);
            return new EvaluationResult(Math.Exp(meanLoss), meanLoss);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
