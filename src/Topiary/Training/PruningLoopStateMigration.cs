using System.Text.Json.Nodes;
using Topiary.Checkpoints;

namespace Topiary.Training;

/// <summary>
/// Brings the JSON state of a checkpoint written by an older Topiary to today's layout before it is read, so that
/// checkpoints keep loading across versions. Version 1 (no <c>state_version</c>, Topiary 0.1.0) named the trajectory's
/// fields after accuracy whatever the metric: <c>remaining_fraction</c> (of the prunable parameters),
/// <c>val_accuracy</c> and <c>val_loss</c>; version 2 calls them <c>prunable_remaining_fraction</c>, <c>validation</c> and
/// <c>validation_loss</c>.
/// </summary>
public static class PruningLoopStateMigration
{
    /// <summary>The state layout this library writes.</summary>
    public const int CurrentVersion = 2;

    private static readonly (string Old, string New)[] TrajectoryRenames =
        [("remaining_fraction", "prunable_remaining_fraction"), ("val_accuracy", "validation"), ("val_loss", "validation_loss")];

    /// <summary>The state in today's layout; <paramref name="state"/> is changed in place and returned.</summary>
    /// <exception cref="CheckpointException">The state claims a version newer than this library reads.</exception>
    public static JsonObject ToCurrent(string source, JsonObject state)
    {
        var version = state["state_version"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 1;
        if (version > CurrentVersion)
            throw new CheckpointException(source, $"state version {version} is newer than this Topiary reads ({CurrentVersion}); update Topiary");
        if (version < 2 && state["trajectory"] is JsonArray points)
        {
            foreach (var point in points.OfType<JsonObject>())
                foreach (var (old, renamed) in TrajectoryRenames)
                    if (point.Remove(old, out var value)) point[renamed] = value;
        }
        state["state_version"] = CurrentVersion;
        return state;
    }
}
