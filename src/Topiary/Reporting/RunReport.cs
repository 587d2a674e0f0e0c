using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Topiary.Backend;
using Topiary.Regularization;

namespace Topiary.Reporting;

/// <summary>
/// Everything one pruning run produced: settings, seed, backend, dense and final metrics,
/// per-layer sparsity and the whole trajectory. Serialized as <c>report.json</c> with snake_case names.
/// </summary>
public sealed record RunReport
{
    /// <summary>
    /// The version of this file's layout. 2: the metric is typed (<see cref="Metric"/>), values are named
    /// <c>validation</c>/<c>test</c>, and "remaining" always means the non-zero share of all the model's parameters
    /// (the prunable share is <c>prunable_remaining_fraction</c>). Reports without it are version 1.
    /// </summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>The layout version of this report (<see cref="CurrentSchemaVersion"/> when written by this library).</summary>
    [JsonRequired]
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
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
    /// <summary>
    /// The run's settings in the canonical, versioned form its checkpoints record and a resumed run must match (for
    /// example <c>PruningOptions.Describe()</c> of Topiary.Experiments); null when the caller gives none and in older reports.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Settings { get; init; }
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
    /// <summary>
    /// Test metric right before each pruning event and of the selected model (last point, equal to
    /// <see cref="Final"/>), with strictly decreasing remaining fractions (<see cref="Reporting.TestTrajectory.EndingAt"/>).
    /// Reporting only: selection and pruning never read the test split. Empty in older reports.
    /// </summary>
    public IReadOnlyList<TestPoint> TestTrajectory { get; init; } = [];

    /// <summary>
    /// The size-for-size protocol's measurements (each size the run crossed, cropped, fine-tuned without the regularizer and
    /// measured); absent unless the run asked for it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SizeResult>? SizeResults { get; init; }

    /// <summary>The quantized export's accuracies and file sizes (<c>prune --quantize</c>), or null when the run did not quantize.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public QuantizationSummary? Quantization { get; init; }

    /// <summary>Recoveries from divergence (non-finite loss or gradient): rollback to the last good checkpoint, halved learning rate.</summary>
    public IReadOnlyList<DivergenceEvent> Divergences { get; init; } = [];
    /// <summary>Wall-clock measurements; the only part that differs between identical runs.</summary>
    public required TimingInfo Timing { get; init; }
    /// <summary>Size and compute of the selected model per layer and in all (alive units, MACs); null in older reports.</summary>
    public NetworkCost? Cost { get; init; }

    /// <summary>The metric the run was selected and reported by, with its direction.</summary>
    public required MetricKind Metric { get; init; }

    // Optional sections: present only for the tasks that have them.

    /// <summary>Sparsity per part of the model (convolution, linear; attention, feed-forward, embedding).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<GroupSparsity>? LayerGroups { get; init; }
    /// <summary>Text generated by the dense and by the pruned model, for language models.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<GeneratedSample>? Samples { get; init; }
    /// <summary>Translation runs only: dense and pruned BLEU on held-out pairs, with sample translations.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TranslationScores? Translation { get; init; }
    /// <summary>
    /// Relevance runs only: quantiles of |∂L/∂w| and of the gate exp(−|g|/α) per prunable tensor at each evaluation
    /// (Bonetta et al.'s regularizer; issue 16). Absent in older reports and for other methods.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GateTrace? Gate { get; init; }

    /// <summary>
    /// Runs with a tuned strength only: each update of the multiplier m (step strength m·γ_t) with its hypergradient and
    /// validation loss (issue 22: HOAG #46, the inexact bilevel method #34, self-tuning networks #62). Absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Topiary.Tuning.TuningRecord>? Tuning { get; init; }
}

/// <summary>Where the data came from and how it was split.</summary>
public sealed record DatasetInfo(string Name, string Directory, int TrainCount, int ValidationCount, int TestCount);

/// <summary>State of the numeric backend during the run.</summary>
public sealed record BackendInfo(
    [property: JsonPropertyName("onednn")] bool OneDnnEnabled,
    int Threads,
    string SelfCheck,
    double ConvGradRelativeError,
    string TorchVersion)
{
    /// <summary>The CPU the run used, as the operating system names it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Cpu { get; init; }

    /// <summary>Why oneDNN is off, or <c>oneDNN on</c> (<see cref="BackendStatus.OneDnnSummary"/>).</summary>
    [JsonPropertyName("onednn_note")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OneDnnNote { get; init; }

    /// <summary>The instruction set of Topiary's own kernels: <c>avx512</c>, <c>avx2</c> or <c>portable</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Kernels { get; init; }

    /// <summary>The backend as <paramref name="status"/> describes it, at <paramref name="threads"/> libtorch threads.</summary>
    public static BackendInfo From(BackendStatus status, int threads) =>
        new(status.OneDnnEnabled, threads, status.Outcome.Name(), status.MaxRelativeError, status.TorchVersion)
        {
            Cpu = status.Cpu,
            OneDnnNote = status.OneDnnSummary,
            Kernels = status.Kernels.ToString().ToLowerInvariant(),
        };
}

/// <summary>Metrics of the dense model the pruning started from.</summary>
/// <param name="Validation">Its validation metric (<see cref="RunReport.Metric"/>).</param>
/// <param name="Test">Its test metric.</param>
/// <param name="TotalParams">Its scalar parameters.</param>
public sealed record DenseMetrics(double Validation, double Test, long TotalParams);

/// <summary>Metrics of the selected pruned model.</summary>
/// <param name="Validation">Its validation metric (<see cref="RunReport.Metric"/>).</param>
/// <param name="Test">Its test metric.</param>
/// <param name="TotalParams">All scalar parameters of the model.</param>
/// <param name="NonzeroParams">Those that are not zero.</param>
/// <param name="RemainingFraction">Remaining: <paramref name="NonzeroParams"/> / <paramref name="TotalParams"/>, over all parameters.</param>
/// <param name="CompressionRatio"><paramref name="TotalParams"/> / <paramref name="NonzeroParams"/>.</param>
/// <param name="Step">The pruning step it was selected at.</param>
public sealed record FinalMetrics(
    double Validation,
    double Test,
    long TotalParams,
    long NonzeroParams,
    double RemainingFraction,
    double CompressionRatio,
    long Step)
{
    /// <summary>The non-zero share of the prunable parameters only (what the method prunes and the selection compares).</summary>
    public double PrunableRemainingFraction { get; init; }
}

/// <summary>Sparsity of one prunable parameter tensor.</summary>
public sealed record LayerSparsity(string Name, IReadOnlyList<long> Shape, long Total, long Nonzero, double RemainingFraction);

/// <summary>The state of the run at one evaluation.</summary>
/// <param name="Step">Pruning steps so far.</param>
/// <param name="Epoch">Epochs of the pruning phase so far.</param>
/// <param name="PrunableRemainingFraction">The non-zero share of the prunable parameters, before this evaluation's pruning.</param>
/// <param name="Validation">The validation metric (<see cref="RunReport.Metric"/>).</param>
/// <param name="ValidationLoss">The validation loss.</param>
/// <param name="TrainLoss">The mean training loss since the last evaluation.</param>
/// <param name="Gamma">The method's strength γ at this step.</param>
/// <param name="Pruned">Whether parameters were pruned at this evaluation.</param>
public sealed record TrajectoryPoint(
    long Step,
    double Epoch,
    double PrunableRemainingFraction,
    double Validation,
    double ValidationLoss,
    double TrainLoss,
    double Gamma,
    bool Pruned);

/// <summary>Wall-clock measurements.</summary>
public sealed record TimingInfo(double SecondsTotal, double StepMsMedian, double DenseSeconds, double PruneSeconds)
{
    /// <summary>The part of <see cref="PruneSeconds"/> spent measuring <see cref="RunReport.TestTrajectory"/> (copies and test evaluations).</summary>
    public double TestTrajectorySeconds { get; init; }

    /// <summary>The part of <see cref="PruneSeconds"/> spent on validation passes.</summary>
    public double EvaluationSeconds { get; init; }

    /// <summary>The part of <see cref="PruneSeconds"/> training waited for checkpoints (capture, and the disk where it had to).</summary>
    public double CheckpointSeconds { get; init; }

    /// <summary>The part of <see cref="PruneSeconds"/> spent in the updates of a tuned strength (0 when it is hand-set).</summary>
    public double TuningSeconds { get; init; }
}
