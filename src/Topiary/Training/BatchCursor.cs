using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Hands out the batch of any global step: epoch = step / N, position = step mod N, in the order
/// fixed by (seed, epoch). Sequential steps reuse one epoch enumerator; a jump (a resumed run, a
/// rollback after divergence) starts the epoch again and skips to the position, so the batches are
/// exactly those an uninterrupted run would have drawn.
/// </summary>
internal sealed class BatchCursor(ITrainingTask task, int seed, int batchSize, int stepsPerEpoch) : IDisposable
{
    private IEnumerator<(Tensor Inputs, Tensor Targets)>? epochBatches;
    private long nextStep = -1;

    /// <summary>The batch of step <paramref name="step"/> (0-based); the caller disposes its tensors.</summary>
    public (Tensor Inputs, Tensor Targets) Take(long step)
    {
        if (step != nextStep || epochBatches is null || step % stepsPerEpoch == 0)
        {
            epochBatches?.Dispose();
            epochBatches = task.EpochBatches(seed, checked((int)(step / stepsPerEpoch)), batchSize).GetEnumerator();
            for (var skip = step % stepsPerEpoch; skip > 0; skip--)
            {
                if (!epochBatches.MoveNext()) throw new InvalidOperationException($"the epoch has fewer than {stepsPerEpoch} batches");
                epochBatches.Current.Inputs.Dispose();
                epochBatches.Current.Targets.Dispose();
            }
        }
        if (!epochBatches.MoveNext()) throw new InvalidOperationException($"the epoch has fewer than {stepsPerEpoch} batches");
        nextStep = step + 1;
        return epochBatches.Current;
    }

    public void Dispose() => epochBatches?.Dispose();
}
