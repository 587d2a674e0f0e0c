namespace Topiary.Checkpoints;

/// <summary>
/// A checkpoint is missing, damaged, or belongs to a different run. The message is one line,
/// <c>"{FilePath}: {Reason}"</c>, so a CLI can print it as is.
/// </summary>
public sealed class CheckpointException(string filePath, string reason, Exception? inner = null)
    : Exception($"{filePath}: {reason.ReplaceLineEndings(" ")}", inner)
{
    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; } = filePath;

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; } = reason.ReplaceLineEndings(" ");
}
