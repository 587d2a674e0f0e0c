using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Measures the test metric of the model right before each pruning event (the model trained at the
/// current sparsity), for the report's test trajectory. Reporting only: nothing in the loop reads these
/// numbers. The prunable weights are copied before the policy runs; when it prunes, they are put back
/// for the test evaluation and the pruned ones restored after it, so the run continues exactly as it
/// would without the measurement.
/// </summary>
internal sealed class PrePruningTests(nn.Module<Tensor, Tensor> model, PruningMasks masks, ITrainingTask task, bool enabled = true)
{
    private const string AnnotationKey = "test_trajectory";
    private readonly List<TestPoint> points = [];

    /// <summary>The points so far, in the order of the events.</summary>
    public IReadOnlyList<TestPoint> Points => points;

    /// <summary>Wall-clock time spent on the copies and the test evaluations: the cost of the measurement.</summary>
    public double Seconds { get; private set; }

    /// <summary>Runs <paramref name="prune"/> (a policy call); when it pruned, records the test metric of the model before it.</summary>
    public bool Around(long step, Func<bool> prune)
    {
        if (!enabled) return prune();
        var clock = Stopwatch.StartNew();
        using var before = new MaskedWeightsBackup(masks);
        clock.Stop();
        if (!prune())
        {
            Seconds += clock.Elapsed.TotalSeconds;
            return false;
        }
        clock.Start();
        using (var after = new MaskedWeightsBackup(masks))
        {
            before.Restore();
            points.Add(Point(step, task.Test(model)));
            after.Restore();
        }
        Seconds += clock.Elapsed.TotalSeconds;
        return true;
    }

    /// <summary>The test metric of the model as it is now (the selected one, at the end of the run).</summary>
    public (TestPoint Point, EvaluationResult Test) MeasureNow(long step)
    {
        var test = task.Test(model);
        return (Point(step, test), test);
    }

    private TestPoint Point(long step, EvaluationResult test)
    {
        var (total, nonzero) = SparsityStatistics.Model(model);
        return new TestPoint(step, (double)nonzero / total, test.Metric);
    }

    /// <summary>
    /// <paramref name="annotations"/> plus the points, so that a checkpoint carries them: a resumed run, or one
    /// rolled back after a divergence, then has exactly the points of the state it continues from.
    /// </summary>
    public JsonObject AddTo(JsonObject annotations)
    {
        annotations[AnnotationKey] = JsonSerializer.SerializeToNode(points, ReportJson.Options);
        return annotations;
    }

    /// <summary>Takes the points from a checkpoint's annotations (none in checkpoints written before they existed).</summary>
    public void LoadFrom(JsonObject annotations)
    {
        points.Clear();
        if (annotations[AnnotationKey] is JsonArray saved)
            points.AddRange(saved.Deserialize<List<TestPoint>>(ReportJson.Options) ?? []);
    }
}
