namespace Topiary.Reporting;

/// <summary>
/// The test metric of one model on a run's path: the model trained at the current sparsity right before a
/// pruning event, or the run's selected model. Reporting only: no pruning decision or selection reads it.
/// </summary>
/// <param name="Step">Pruning-phase step at which the model was measured.</param>
/// <param name="RemainingFraction">Non-zero / total parameters of the whole model, as in <see cref="FinalMetrics.RemainingFraction"/>.</param>
/// <param name="TestMetric">The task's metric on the test split (accuracy, perplexity).</param>
public sealed record TestPoint(long Step, double RemainingFraction, double TestMetric);

/// <summary>Builds a run's test trajectory from the points measured before its pruning events.</summary>
public static class TestTrajectory
{
    /// <summary>
    /// The path to the run's result, with strictly decreasing remaining fractions: the events in order,
    /// keeping only those with fewer remaining parameters than every earlier kept one and more than the
    /// result, then <paramref name="result"/> itself. Events at or below the result's remaining fraction
    /// are left out: they belong to models more pruned than the selected one, which failed the bound
    /// (the validation trajectory of the run report still holds them); an event is also left out when
    /// exact zeros of a regularizer (L1) made an earlier model look sparser.
    /// </summary>
    public static IReadOnlyList<TestPoint> EndingAt(IEnumerable<TestPoint> events, TestPoint result)
    {
        var path = new List<TestPoint>();
        foreach (var point in events)
            if (point.RemainingFraction > result.RemainingFraction && (path.Count == 0 || point.RemainingFraction < path[^1].RemainingFraction))
                path.Add(point);
        path.Add(result);
        return path;
    }
}
