using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Regularization;
using Topiary.Reporting;

namespace Topiary.Training;

/// <summary>
/// Records the relevance gate of every prunable tensor at each evaluation (<see cref="PruningSession.GateStatistics"/>),
/// for <see cref="RunReport.Gate"/>; the points travel in checkpoints' annotations so that a resumed run keeps them.
/// Records nothing for methods without the relevance regularizer.
/// </summary>
internal sealed class GateRecorder(PruningSession session)
{
    private const string AnnotationKey = "gate_trace";
    private readonly List<GateEvaluation> evaluations = [];

    /// <summary>Adds the gate as of the last step; nothing before the first step or without a relevance regularizer.</summary>
    public void Record()
    {
        var layers = session.GateStatistics();
        if (layers.Count > 0) evaluations.Add(new GateEvaluation(session.Step, layers));
    }

    /// <summary>The trace so far, or null when nothing was recorded.</summary>
    public GateTrace? Trace => evaluations.Count == 0 ? null : new GateTrace(GateQuantiles.Levels, evaluations.ToList());

    /// <summary>Adds the points to a checkpoint's <paramref name="annotations"/> and returns them.</summary>
    public JsonObject AddTo(JsonObject annotations)
    {
        if (evaluations.Count > 0) annotations[AnnotationKey] = JsonSerializer.SerializeToNode(evaluations, ReportJson.Options);
        return annotations;
    }

    /// <summary>Takes the points from a checkpoint's annotations (none in checkpoints written before they existed).</summary>
    public void LoadFrom(JsonObject annotations)
    {
        evaluations.Clear();
        if (annotations[AnnotationKey] is JsonArray saved)
            evaluations.AddRange(saved.Deserialize<List<GateEvaluation>>(ReportJson.Options) ?? []);
    }
}
