using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Reporting;
using static TorchSharp.torch;
using Topiary.Checkpoints;

namespace Topiary.Training;

/// <summary>
/// The complete state of a pruning run at a step boundary: <see cref="State"/> plus named tensors
/// (<c>model/…</c> parameters, <c>mask/…</c> masks, <c>optimizer/…</c> state buffers, and
/// <c>best/model/…</c>, <c>best/mask/…</c> for the selected checkpoint). Owns its tensors.
/// </summary>
public sealed class TrainingCheckpoint : IDisposable
{
    /// <summary>Wraps a state and tensors that this checkpoint will own; <paramref name="source"/> names it in errors.</summary>
    public TrainingCheckpoint(PruningLoopState state, IReadOnlyDictionary<string, Tensor> tensors, string source = "checkpoint in memory")
    {
        State = state;
        Tensors = tensors;
        Source = source;
    }

    /// <summary>Where the checkpoint came from (its file), for error messages.</summary>
    public string Source { get; }

    /// <summary>Counters, schedule, selection and trajectory.</summary>
    public PruningLoopState State { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The tensors whose names start with <paramref name="prefix"/>, keyed by the rest of the name.</summary>
    public Dictionary<string, Tensor> WithPrefix(string prefix) =>
        Tensors.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(t => t.Key[prefix.Length..], t => t.Value);

    /// <summary>Streams the checkpoint to <paramref name="path"/> atomically (no size limit; <see cref="Encode"/> holds one array).</summary>
    public void Save(string path) =>
        CheckpointFile.Write(path, JsonSerializer.SerializeToNode(State, ReportJson.Options)!.AsObject(), Tensors);

    /// <summary>The checkpoint's file encoded in managed memory (any size), for a writer on another thread (<see cref="CheckpointWriter"/>).</summary>
    internal IO.ChunkedBuffer EncodeChunks() =>
        CheckpointFile.Encode(JsonSerializer.SerializeToNode(State, ReportJson.Options)!.AsObject(), Tensors);

    /// <summary>The checkpoint as the bytes of a <see cref="CheckpointFile"/> (limited to one array, about 2 GB).</summary>
    public byte[] Encode() =>
        CheckpointFile.Serialize(JsonSerializer.SerializeToNode(State, ReportJson.Options)!.AsObject(), Tensors);

    /// <summary>Reads a checkpoint file.</summary>
    /// <exception cref="CheckpointException">The file is missing, damaged or not a pruning checkpoint.</exception>
    public static TrainingCheckpoint Load(string path) => FromParts(path, CheckpointFile.Read(path));

    /// <summary>Decodes what <see cref="Encode"/> produced; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">The bytes are not a valid pruning checkpoint.</exception>
    public static TrainingCheckpoint Decode(string source, byte[] bytes) => FromParts(source, CheckpointFile.Parse(source, bytes));

    private static TrainingCheckpoint FromParts(string source, (JsonObject State, Dictionary<string, Tensor> Tensors) parts)
    {
        try
        {
            var state = PruningLoopStateMigration.ToCurrent(source, parts.State).Deserialize<PruningLoopState>(ReportJson.Options)
                ?? throw new CheckpointException(source, "the state is null");
            Check(source, state);
            return new TrainingCheckpoint(state, parts.Tensors, source);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException or CheckpointException)
        {
            foreach (var t in parts.Tensors.Values) t.Dispose();
            if (e is CheckpointException) throw;
            throw new CheckpointException(source, $"the state is not that of a pruning run: {e.Message.Split('\n')[0]}", e);
        }
    }

    // Deserialization accepts explicit nulls and any numbers; a damaged state must not reach the loop.
    private static void Check(string source, PruningLoopState s)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new CheckpointException(source, $"implausible state: {what}");
        }
        Require((s.Options is not null || s.RunIdentity is not null) && s.Trajectory is not null && s.Divergences is not null && s.PolicyName is not null
            && s.PolicyState is not null && s.Selection is not null && s.Annotations is not null, "a required field is null");
        Require(s.StepsPerEpoch > 0 && s.Step >= 0 && s.GammaStepsSinceReset >= 0 && s.OptimizerSteps >= 0, "negative counters");
        Require(s.LearningRate > 0 && double.IsFinite(s.LearningRate), $"learning rate {s.LearningRate}");
        Require(s.LossCount >= 0 && s.ConsecutiveFailures >= 0, "negative loss count or failure count");
        Require(s.Trajectory!.All(p => p is not null) && s.Divergences!.All(d => d is not null), "null trajectory point or event");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
