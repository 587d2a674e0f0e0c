using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Everything a <see cref="PruningSession"/> needs to continue exactly where it was: counters and schedule state as
/// JSON, and tensors by name (<c>model/…</c> parameters and buffers, <c>mask/…</c>, <c>optimizer/…</c>,
/// <c>regularizer/…</c>, <c>best/model/…</c> and <c>best/mask/…</c> for the selection, <c>random/cpu</c> for the
/// generator). Owns its tensors. <see cref="Save"/> and <see cref="Load"/> keep it in a checkpoint file.
/// </summary>
public sealed class SessionCheckpoint : IDisposable
{
    /// <summary>Wraps a state and tensors that this checkpoint will own; <paramref name="source"/> names it in errors.</summary>
    public SessionCheckpoint(JsonObject state, Dictionary<string, Tensor> tensors, string source = "session checkpoint in memory")
    {
        State = state;
        Tensors = tensors;
        Source = source;
    }

    /// <summary>Counters, schedule and selection state, the method's settings.</summary>
    public JsonObject State { get; }

    /// <summary>The tensors by name.</summary>
    public Dictionary<string, Tensor> Tensors { get; }

    /// <summary>Where it came from, for errors.</summary>
    public string Source { get; }

    /// <summary>The tensors whose names start with <paramref name="prefix"/>, keyed by the rest of the name.</summary>
    public Dictionary<string, Tensor> WithPrefix(string prefix) =>
        Tensors.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(t => t.Key[prefix.Length..], t => t.Value);

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => CheckpointFile.Write(path, State, Tensors);

    /// <summary>Reads a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="CheckpointException">The file is missing or damaged.</exception>
    public static SessionCheckpoint Load(string path)
    {
        var (state, tensors) = CheckpointFile.Read(path);
        return new SessionCheckpoint(state, tensors, path);
    }

    /// <summary>False for a view over tensors that someone else owns and disposes.</summary>
    internal bool OwnsTensors { get; init; } = true;

    /// <inheritdoc />
    public void Dispose()
    {
        if (!OwnsTensors) return;
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
