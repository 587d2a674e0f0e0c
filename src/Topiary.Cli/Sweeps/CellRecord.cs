using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Comparison;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Cli.Sweeps;

/// <summary>Where a cell stands.</summary>
internal enum CellStatus
{
    /// <summary>Started, and neither finished nor failed yet (or killed without a chance to say so).</summary>
    Running,

    /// <summary>Its result is kept.</summary>
    Finished,

    /// <summary>It stopped with an error, which the record keeps.</summary>
    Failed,
}

/// <summary>
/// A cell's <c>cell.json</c>, rewritten atomically when it starts, finishes or fails: what it ran with
/// (<see cref="SweepCell.Identity"/>), where it stands, and its result: the dense model's test metric or the run.
/// </summary>
internal sealed record CellRecord(string Identity, CellStatus Status)
{
    public const string FileName = "cell.json";
    private const int CurrentVersion = 1;

    public string? Host { get; init; }
    public int? ProcessId { get; init; }
    /// <summary>When the cell's process started: the time before <see cref="Started"/> went to starting .NET, reading the data and checking the backend.</summary>
    public DateTimeOffset? ProcessStarted { get; init; }
    /// <summary>When the cell's work started (its data read and backend checked).</summary>
    public DateTimeOffset Started { get; init; }
    public DateTimeOffset? Ended { get; init; }
    public string? Failure { get; init; }
    public string? Model { get; init; }
    public string? Dataset { get; init; }
    public MetricKind? Metric { get; init; }
    public BackendInfo? Backend { get; init; }

    /// <summary>The recorded settings of the comparison the cell belongs to (the <c>settings</c> of comparison.json).</summary>
    public JsonObject? Settings { get; init; }

    /// <summary>A dense cell's result.</summary>
    public double? DenseTestMetric { get; init; }

    /// <summary>A run cell's result.</summary>
    public ComparisonRun? Run { get; init; }

    /// <summary>The record in <paramref name="folder"/>, or null when the cell never started there.</summary>
    /// <exception cref="CliUsageException">The file is damaged; the message names it.</exception>
    public static CellRecord? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            var status = root["status"]?.GetValue<string>() switch
            {
                "running" => CellStatus.Running,
                "finished" => CellStatus.Finished,
                "failed" => CellStatus.Failed,
                var other => throw new JsonException($"unknown status '{other}'"),
            };
            return new CellRecord(root["identity"]?.ToJsonString() ?? throw new JsonException("field 'identity' is missing"), status)
            {
                Host = root["host"]?.GetValue<string>(),
                ProcessId = root["pid"]?.GetValue<int>(),
                ProcessStarted = root["process_started"]?.GetValue<DateTimeOffset>(),
                Started = root["started"]?.GetValue<DateTimeOffset>() ?? default,
                Ended = root["ended"]?.GetValue<DateTimeOffset>(),
                Failure = root["failure"]?.GetValue<string>(),
                Model = root["model"]?.GetValue<string>(),
                Dataset = root["dataset"]?.GetValue<string>(),
                Metric = root["metric"].Deserialize<MetricKind>(ReportJson.Options),
                Backend = root["backend"].Deserialize<BackendInfo>(ReportJson.Options),
                Settings = root["settings"]?.DeepClone() as JsonObject,
                DenseTestMetric = root["dense_test_metric"]?.GetValue<double>(),
                Run = root["run"].Deserialize<ComparisonRun>(ReportJson.Options),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new CliUsageException($"{path}: not a valid cell record: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Writes the record into <paramref name="folder"/> atomically.</summary>
    public void Write(string folder)
    {
        var root = new JsonObject
        {
            ["version"] = CurrentVersion,
            ["tool_version"] = ToolInfo.Version,
            ["status"] = Status.ToString().ToLowerInvariant(),
            ["identity"] = JsonNode.Parse(Identity),
            ["host"] = Host,
            ["pid"] = ProcessId,
            ["process_started"] = ProcessStarted,
            ["started"] = Started,
            ["ended"] = Ended,
            ["failure"] = Failure,
            ["model"] = Model,
            ["dataset"] = Dataset,
            ["metric"] = Metric is null ? null : JsonSerializer.SerializeToNode(Metric, ReportJson.Options),
            ["backend"] = Backend is null ? null : JsonSerializer.SerializeToNode(Backend, ReportJson.Options),
            ["settings"] = Settings?.DeepClone(),
            ["dense_test_metric"] = DenseTestMetric,
            ["run"] = Run is null ? null : JsonSerializer.SerializeToNode(Run, ReportJson.Options),
        };
        foreach (var empty in root.Where(p => p.Value is null).Select(p => p.Key).ToList()) root.Remove(empty);
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), root.ToJsonString(ReportJson.Options) + "\n");
    }

    /// <summary>Seconds from start to end, when it ended.</summary>
    public double? Seconds => Ended is { } end ? (end - Started).TotalSeconds : null;
}
