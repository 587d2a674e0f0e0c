using Topiary.Reporting;
using Topiary.Data;
using static TorchSharp.torch;
using Topiary.Pruning;
using Topiary.Training;

namespace Topiary.Experiments;

/// <summary>Image classification by cross-entropy, measured by accuracy.</summary>
public sealed class ImageClassificationTask(ImageClassificationData data) : ITrainingTask
{
    /// <summary>The data behind the task.</summary>
    public ImageClassificationData Data { get; } = data;

    /// <inheritdoc />
    public MetricKind Metric => MetricKind.Accuracy;

    /// <inheritdoc />
    public int StepsPerEpoch(int batchSize) => Data.StepsPerEpoch(batchSize);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize)
    {
        foreach (var batch in Data.EpochBatches(seed, epoch, batchSize))
        {
            // The caller disposes the batch tensors; the index view is ours to free.
            var images = Data.TrainImages.index_select(0, batch);
            var labels = Data.TrainLabels.index_select(0, batch);
            batch.Dispose();
            yield return (images, labels);
        }
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, Tensor targets) => nn.functional.cross_entropy(output, targets);

    /// <inheritdoc />
    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => Evaluation.Classify(model, Data.ValidationImages, Data.ValidationLabels);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> ValidationBatches(int batchSize)
    {
        var count = Data.ValidationImages.shape[0];
        for (long first = 0; first < count; first += batchSize)
        {
            var length = Math.Min(batchSize, count - first);
            yield return (Data.ValidationImages.narrow(0, first, length), Data.ValidationLabels.narrow(0, first, length));
        }
    }

    /// <inheritdoc />
    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) => Evaluation.Classify(model, Data.TestImages, Data.TestLabels);
}
