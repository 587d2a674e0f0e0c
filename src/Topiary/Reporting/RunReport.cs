using System.Text.Json.Serialization;

namespace Topiary.Reporting;

/// <summary>
/// Everything one pruning run produced: settings, seed, backend, dense and final metrics,
/// per-layer sparsity and the whole trajectory. Serialized as <c>report.json</c> with snake_case names.
/// </summary>
public sealed record RunReport
{
    /// <summary>Version of the Topiary library that produced the run.</summary>
    public required string ToolVersion { get; init; }
    /// <summary>Model architecture name (e.g. <c>lenet5</c>).</summary>
    public required string Model { get; init; }
    /// <summary>Dataset description (directory and sizes of the splits).</summary>
    public required DatasetInfo Dataset { get; init; }
    /// <summary>Regularization method (<c>relevance</c>, <c>l2</c>, <c>l1</c>, <c>none</c>).</summary>
    public required string Method { get; init; }
    /// <summary>Seed of every random choice in the run.</summary>
    public required int Seed { get; init; }
    /// <summary>All settings of the run, by their CLI names.</summary>
    public required IReadOnlyDictionary<string, object> Hyperparameters { get; init; }
    /// <summary>The numeric backend as it was used (oneDNN state, threads, self-check outcome).</summary>
    public required BackendInfo Backend { get; init; }
    /// <summary>The dense starting point.</summary>
    public required DenseMetrics Dense { get; init; }
    /// <summary>The selected pruned model.</summary>
    public required FinalMetrics Final { get; init; }
    /// <summary>Why the final checkpoint was chosen, in words.</summary>
    public required string Selection { get; init; }
    /// <summary>Per-layer sparsity of the selected model.</summary>
    public required IReadOnlyList<LayerSparsity> Layers { get; init; }
    /// <summary>One point per evaluation.</summary>
    public required IReadOnlyList<TrajectoryPoint> Trajectory { get; init; }
    /// <summary>Recoveries from divergence (non-finite loss or gradient): rollback to the last good checkpoint, halved learning rate.</summary>
    public IReadOnlyList<DivergenceEvent> Divergences { get; init; } = [];
    /// <summary>Wall-clock measurements; the only part that differs between identical runs.</summary>
    public required TimingInfo Timing { get; init; }
    /// <summary>Size and compute of the selected model per layer and in all (alive units, MACs); null in older reports.</summary>
    public NetworkCost? Cost { get; init; }
}

/// <summary>Where the data came from and how it was split.</summary>
public sealed record DatasetInfo(string Name, string Directory, int TrainCount, int ValidationCount, int TestCount);

/// <summary>State of the numeric backend during the run.</summary>
public sealed record BackendInfo(
    [property: JsonPropertyName("onednn")] bool OneDnnEnabled,
    int Threads,
    string SelfCheck,
    double ConvGradRelativeError,
    string TorchVersion);

/// <summary>Metrics of the dense model the pruning started from.</summary>
public sealed record DenseMetrics(double ValAccuracy, double TestAccuracy, long TotalParams);

/// <summary>Metrics of the selected pruned model.</summary>
public sealed record FinalMetrics(
    double ValAccuracy,
    double TestAccuracy,
    long TotalParams,
    long NonzeroParams,
    double RemainingFraction,
    double CompressionRatio,
    long Step);

/// <summary>Sparsity of one prunable parameter tensor.</summary>
public sealed record LayerSparsity(string Name, IReadOnlyList<long> Shape, long Total, long Nonzero, double RemainingFraction);

/// <summary>The state of the run at one evaluation.</summary>
public sealed record TrajectoryPoint(
    long Step,
    double Epoch,
    double RemainingFraction,
    double ValAccuracy,
    double ValLoss,
    double TrainLoss,
    double Gamma,
    bool Pruned);

/// <summary>Wall-clock measurements.</summary>
public sealed record TimingInfo(double SecondsTotal, double StepMsMedian, double DenseSeconds, double PruneSeconds);
