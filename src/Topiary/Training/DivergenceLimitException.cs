namespace Topiary.Training;

/// <summary>
/// The loss or a gradient stopped being finite again and again: after the allowed number of rollbacks
/// in a row the run gives up. The last good checkpoint is left untouched.
/// </summary>
public sealed class DivergenceLimitException(int failures, long step, string cause, string? checkpointPath)
    : Exception($"training diverged {failures} times in a row (last at step {step}: {cause}) despite halving the learning rate each time; lower the learning rate or the regularization strength"
        + (checkpointPath is null ? "" : $"; the last good checkpoint {checkpointPath} is intact"))
{
    /// <summary>Consecutive failures.</summary>
    public int Failures { get; } = failures;

    /// <summary>The step of the last failure.</summary>
    public long Step { get; } = step;

    /// <summary>The last good checkpoint, if one was written to disk.</summary>
    public string? CheckpointPath { get; } = checkpointPath;
}
