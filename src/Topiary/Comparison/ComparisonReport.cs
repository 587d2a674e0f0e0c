namespace Topiary.Comparison;

/// <summary>One method × seed run of a comparison.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Seed">Seed of the split, the initialization and the batch order.</param>
/// <param name="DenseTestAccuracy">Test accuracy of the shared dense starting point of this seed.</param>
/// <param name="ValAccuracy">Validation accuracy of the selected model.</param>
/// <param name="TestAccuracy">Test accuracy of the selected model.</param>
/// <param name="RemainingFraction">Non-zero / total parameters of the selected model.</param>
/// <param name="MetBound">Whether the selected model meets the validation floor.</param>
/// <param name="Seconds">Wall-clock time of the pruning run.</param>
/// <param name="Failure">Why the run failed (e.g. it diverged); its metrics are then NaN and it is left out of the means.</param>
public sealed record ComparisonRun(string Method, int Seed, double DenseTestAccuracy, double ValAccuracy, double TestAccuracy,
    double RemainingFraction, bool MetBound, double Seconds, string? Failure = null);

/// <summary>Mean ± sample standard deviation over the seeds of one method.</summary>
public sealed record MethodSummary(string Method, int Runs, double TestAccuracyMean, double TestAccuracyStd,
    double RemainingMean, double RemainingStd, double CompressionMean, int RunsMeetingBound);

/// <summary>
/// The result of <c>topiary compare</c>: several pruning methods on the same model, data split, dense
/// starting points, seeds and budget; every run and the per-method mean ± std.
/// </summary>
public sealed record ComparisonReport
{
    /// <summary>Version of the Topiary library that produced it.</summary>
    public required string ToolVersion { get; init; }
    /// <summary>Model architecture.</summary>
    public required string Model { get; init; }
    /// <summary>Data directory.</summary>
    public required string Dataset { get; init; }
    /// <summary>The methods in the order given.</summary>
    public required IReadOnlyList<string> Methods { get; init; }
    /// <summary>The seeds.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>The shared settings and each method's own, by CLI name.</summary>
    public required IReadOnlyDictionary<string, object> Settings { get; init; }
    /// <summary>Every run.</summary>
    public required IReadOnlyList<ComparisonRun> Runs { get; init; }
    /// <summary>Per-method mean ± std, in method order.</summary>
    public required IReadOnlyList<MethodSummary> Summaries { get; init; }
    /// <summary>Wall-clock time of the whole comparison (so far, when not <see cref="Complete"/>).</summary>
    public required double SecondsTotal { get; init; }
    /// <summary>False while the comparison is still running (a partial report written after each run).</summary>
    public bool Complete { get; init; } = true;
}
