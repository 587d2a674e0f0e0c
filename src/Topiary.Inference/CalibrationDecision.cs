namespace Topiary.Inference;

/// <summary>
/// The rules by which calibration chooses, kept apart from the measuring so that the same timing table always gives
/// the same choice (and tests can hand it one):
/// <list type="number">
/// <item>A layer runs sparse only where its kernel is at least <see cref="LayerMargin"/> times faster than libtorch's
/// dense operator: near the crossover a noisy measurement must not make the layer slower.</item>
/// <item>The whole network then runs on the fastest engine: Topiary's plan only if it beats the fastest dense engine
/// (libtorch, or ONNX Runtime with any of the thread counts timed) by <see cref="NetworkMargin"/>, so that a plan that
/// wins layer by layer cannot make the network slower than the best dense engine. Among dense engines the fastest
/// wins; a tie goes to the one listed first.</item>
/// </list>
/// </summary>
public static class CalibrationDecision
{
    /// <summary>A layer runs sparse only when its kernel is at least this factor faster than dense.</summary>
    public const double LayerMargin = 1.15;

    /// <summary>Topiary's plan runs only when it is at least this factor faster than the fastest dense engine (timing noise).</summary>
    public const double NetworkMargin = 1.05;

    /// <summary>Whether a layer timed at <paramref name="sparseMilliseconds"/> and <paramref name="denseMilliseconds"/> runs sparse.</summary>
    public static bool LayerRunsSparse(double sparseMilliseconds, double denseMilliseconds) => sparseMilliseconds * LayerMargin < denseMilliseconds;

    /// <summary>The choice for a timing table (deterministic: a function of the table alone).</summary>
    /// <exception cref="ArgumentException">The table has no dense engine.</exception>
    public static CalibrationChoice Choose(CalibrationTimings timings)
    {
        ArgumentNullException.ThrowIfNull(timings);
        var sparse = timings.Layers.Select(l => LayerRunsSparse(l.SparseMilliseconds, l.DenseMilliseconds)).ToList();
        EngineTiming? bestDense = null;
        foreach (var timing in timings.Engines)
            if (timing.Engine != InferenceEngine.Topiary && (bestDense is null || timing.Milliseconds < bestDense.Milliseconds)) bestDense = timing;
        if (bestDense is null) throw new ArgumentException($"the timings at batch {timings.Batch} hold no dense engine to compare with", nameof(timings));
        var topiary = timings.Engines.FirstOrDefault(t => t.Engine == InferenceEngine.Topiary);
        if (sparse.Contains(true) && topiary is not null && topiary.Milliseconds * NetworkMargin < bestDense.Milliseconds)
            return new CalibrationChoice(timings.Batch, InferenceEngine.Topiary, topiary.Threads, sparse);
        return new CalibrationChoice(timings.Batch, bestDense.Engine, bestDense.Threads, sparse.Select(_ => false).ToList());
    }
}
