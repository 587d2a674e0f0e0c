using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// <paramref name="inner"/> with <paramref name="augmentation"/> applied to its training batches only: validation,
/// test and the validation batches a tuner reads stay as they are. Each batch's draws come from (seed, epoch, batch
/// index), so that a run skipping batches on resume augments the rest as an uninterrupted run did.
/// </summary>
public sealed class AugmentedTask(ITrainingTask inner, IBatchAugmentation augmentation) : ITrainingTask
{
    /// <summary>The task whose training batches are augmented.</summary>
    public ITrainingTask Inner { get; } = inner;

    /// <summary>The augmentation applied to them.</summary>
    public IBatchAugmentation Augmentation { get; } = augmentation;

    /// <inheritdoc />
    public MetricKind Metric => Inner.Metric;

    /// <inheritdoc />
    public int StepsPerEpoch(int batchSize) => Inner.StepsPerEpoch(batchSize);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize)
    {
        var index = 0;
        foreach (var (inputs, targets) in Inner.EpochBatches(seed, epoch, batchSize))
        {
            Tensor augmented;
            using (inputs) augmented = Augmentation.Apply(inputs, BatchSeed(seed, epoch, index++));
            yield return (augmented, targets);
        }
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, Tensor targets) => Inner.Loss(output, targets);

    /// <inheritdoc />
    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => Inner.Validate(model);

    /// <inheritdoc />
    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) => Inner.Test(model);

    /// <inheritdoc />
    public IEnumerable<(Tensor Inputs, Tensor Targets)> ValidationBatches(int batchSize) => Inner.ValidationBatches(batchSize);

    /// <summary>The seed of one batch's draws: SplitMix64 over (seed, epoch, index), so that neighbouring batches draw unrelated squares.</summary>
    public static ulong BatchSeed(int seed, int epoch, int index) =>
        Mix(Mix(Mix((uint)seed) ^ (uint)epoch) ^ (uint)index);

    /// <summary>SplitMix64's finalizer: neighbouring inputs give unrelated outputs.</summary>
    internal static ulong Mix(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
