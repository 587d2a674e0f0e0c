namespace Topiary.Training;

/// <summary>
/// The run was cancelled and its state saved: <see cref="CheckpointPath"/> (null when the run kept
/// checkpoints in memory only) holds everything needed to continue from <see cref="Step"/>.
/// </summary>
public sealed class TrainingInterruptedException(long step, string? checkpointPath, CancellationToken token)
    : OperationCanceledException(checkpointPath is null
        ? $"cancelled at step {step}"
        : $"cancelled at step {step}; the checkpoint {checkpointPath} holds the run", token)
{
    /// <summary>The pruning step at which the run stopped.</summary>
    public long Step { get; } = step;

    /// <summary>The checkpoint written on the way out.</summary>
    public string? CheckpointPath { get; } = checkpointPath;
}
