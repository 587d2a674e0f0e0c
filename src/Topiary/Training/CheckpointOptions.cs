using System.Text.Json.Nodes;

namespace Topiary.Training;

/// <summary>
/// Where a pruning run keeps its checkpoints and what it resumes from. Without a directory the run still
/// keeps its last good checkpoint in memory, to recover from divergence.
/// </summary>
public sealed class CheckpointOptions
{
    /// <summary>File name of the latest good checkpoint, rewritten at every evaluation and on interruption.</summary>
    public const string LastFileName = "last.ckpt";

    /// <summary>File name of the checkpoint at which the result selection last improved.</summary>
    public const string BestFileName = "best.ckpt";

    /// <summary>Folder for <see cref="LastFileName"/> and <see cref="BestFileName"/>; null keeps checkpoints in memory only.</summary>
    public string? Directory { get; init; }

    /// <summary>A checkpoint to continue from instead of starting the pruning phase afresh.</summary>
    public TrainingCheckpoint? ResumeFrom { get; init; }

    /// <summary>Caller data stored in every checkpoint (e.g. the dense model's metrics), returned on resume.</summary>
    public JsonObject Annotations { get; init; } = new();

    /// <summary>Recoveries from divergence in a row (without a passing evaluation) after which the run stops.</summary>
    public int MaxConsecutiveDivergences { get; init; } = 3;

    /// <summary>Path of the latest checkpoint, or null without a directory.</summary>
    public string? LastPath => Directory is null ? null : Path.Combine(Directory, LastFileName);

    /// <summary>Path of the best checkpoint, or null without a directory.</summary>
    public string? BestPath => Directory is null ? null : Path.Combine(Directory, BestFileName);
}
