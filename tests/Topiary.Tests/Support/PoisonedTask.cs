using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Pruning;

namespace Topiary.Tests.Support;

/// <summary>
/// A training task whose loss turns NaN on chosen calls (counted from 1), to drive the divergence
/// guard deterministically; everything else is the wrapped task.
/// </summary>
internal sealed class PoisonedTask(ITrainingTask inner, Func<int, bool> poisonCall) : ITrainingTask
{
    private int calls;

    public MetricKind Metric => inner.Metric;
    public int StepsPerEpoch(int batchSize) => inner.StepsPerEpoch(batchSize);
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize) => inner.EpochBatches(seed, epoch, batchSize);
    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => inner.Validate(model);
    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) => inner.Test(model);

    public Tensor Loss(Tensor output, Tensor targets)
    {
        var loss = inner.Loss(output, targets);
        return poisonCall(++calls) ? loss.mul(float.NaN) : loss;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler at once, on the reporting thread.</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
