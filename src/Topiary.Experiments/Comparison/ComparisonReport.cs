using System.Text.Json.Serialization;
using Topiary.Reporting;

namespace Topiary.Comparison;

/// <summary>One method × seed run of a comparison. The metric is the comparison's <see cref="ComparisonReport.Metric"/>.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Seed">Seed of the split, the initialization and the batch order.</param>
/// <param name="DenseTestMetric">Test metric of the shared dense starting point of this seed.</param>
/// <param name="ValMetric">Validation metric of the selected model.</param>
/// <param name="TestMetric">Test metric of the selected model.</param>
/// <param name="RemainingFraction">Non-zero / total parameters of the selected model.</param>
/// <param name="Bound">The validation bound of the run: a floor (accuracy) or a ceiling (perplexity).</param>
/// <param name="MetBound">Whether the selected model meets the bound.</param>
/// <param name="Seconds">Wall-clock time of the pruning run.</param>
/// <param name="Failure">Why the run failed (e.g. it diverged); its metrics are then NaN and it is left out of the means.</param>
public sealed record ComparisonRun(string Method, int Seed, double DenseTestMetric, double ValMetric, double TestMetric,
    double RemainingFraction, double Bound, bool MetBound, double Seconds, string? Failure = null)
{
    /// <summary>
    /// Test metric right before each pruning event, ending at the selected model (<see cref="RunReport.TestTrajectory"/>).
    /// Reporting only: the test split never takes part in pruning or selection.
    /// </summary>
    public IReadOnlyList<TestPoint> TestTrajectory { get; init; } = [];

    /// <summary>
    /// The size-for-size protocol's measurements of this run (<see cref="Topiary.Training.SizeProtocol"/>); null when the
    /// comparison did not ask for it. A size missing from the list was not reached by the run.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SizeResult>? Sizes { get; init; }

    /// <summary>
    /// The CPU the run ran on (its report's <c>backend.cpu</c>). Runs are paired by seed only with runs on the same CPU:
    /// kernels, and so results, differ between CPUs. Null in older reports.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Cpu { get; init; }

    /// <summary>Part of <see cref="Seconds"/> spent measuring <see cref="TestTrajectory"/>.</summary>
    public double TestTrajectorySeconds { get; init; }

    /// <summary>Translation only: BLEU of the selected model's greedy translations of the test pairs scored.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TestBleu { get; init; }

    /// <summary>A method with a tuned strength only: every update of its multiplier (the run report's <c>tuning</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Topiary.Tuning.TuningRecord>? Tuning { get; init; }
}

/// <summary>Mean ± sample standard deviation over the seeds of one method, and its seed-mean test trajectory.</summary>
public sealed record MethodSummary(string Method, int Runs, double TestMetricMean, double TestMetricStd,
    double RemainingMean, double RemainingStd, double CompressionMean, int RunsMeetingBound)
{
    /// <summary>The seed-mean test metric against remaining parameters (<see cref="Comparison.MeanTrajectory"/>).</summary>
    public IReadOnlyList<TrajectoryLevel> MeanTrajectory { get; init; } = [];

    /// <summary>Translation only: mean and sample standard deviation of <see cref="ComparisonRun.TestBleu"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public MeanAndStd? TestBleu { get; init; }
}

/// <summary>
/// The result of <c>topiary compare</c>: several pruning methods on the same model, data split, dense
/// starting points, seeds and budget; every run and the per-method mean ± std.
/// </summary>
public sealed record ComparisonReport
{
    /// <summary>Version of the Topiary library that produced it.</summary>
    public required string ToolVersion { get; init; }
    /// <summary>The numeric backend every run used (oneDNN state and why, threads, self-check, CPU, kernels).</summary>
    public BackendInfo? Backend { get; init; }
    /// <summary>Model architecture.</summary>
    public required string Model { get; init; }
    /// <summary>Data directory or corpus.</summary>
    public required string Dataset { get; init; }
    /// <summary>The metric of every <c>*_metric</c> field, and whether higher or lower is better.</summary>
    public required MetricKind Metric { get; init; }
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
    /// <summary>
    /// Each method's final test metric against <c>none</c> and against <c>l2</c> (where the comparison has them), paired by
    /// seed, with a 95 % Student-t interval (<see cref="PairedDifference"/>); empty in older reports.
    /// </summary>
    public IReadOnlyList<PairedDifference> Paired { get; init; } = [];
    /// <summary>The size-for-size protocol per size and method (<see cref="SizeStatistics"/>); null when the comparison did not use it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SizeSummary>? SizeSummaries { get; init; }
    /// <summary>The protocol's paired differences against <c>none</c> and <c>l2</c> at each size; null when the comparison did not use it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SizePairedDifference>? SizePaired { get; init; }
    /// <summary>Wall-clock time of the whole comparison (so far, when not <see cref="Complete"/>).</summary>
    public required double SecondsTotal { get; init; }
    /// <summary>False while the comparison is still running (a partial report written after each run).</summary>
    public bool Complete { get; init; } = true;
}

/// <summary>A mean with its sample standard deviation.</summary>
public sealed record MeanAndStd(double Mean, double Std);
