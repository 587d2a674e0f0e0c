using System.Globalization;
using System.Text.Json.Serialization;

namespace Topiary.Reporting;

/// <summary>Which way a metric improves.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MetricDirection>))]
public enum MetricDirection
{
    /// <summary>A larger value is better (accuracy, BLEU).</summary>
    [JsonStringEnumMemberName("higher_is_better")]
    HigherIsBetter,

    /// <summary>A smaller value is better (perplexity, loss).</summary>
    [JsonStringEnumMemberName("lower_is_better")]
    LowerIsBetter,
}

/// <summary>
/// The metric a run is selected and reported by, with its direction: every report, comparison, table and plot names
/// and formats values through it. Accuracy is a fraction, shown in %, higher is better; perplexity is shown as is,
/// lower is better. The values themselves are plain numbers in the report's <c>validation</c> and <c>test</c> fields.
/// </summary>
/// <param name="Name">The task's metric name (<c>accuracy</c>, <c>perplexity</c>).</param>
/// <param name="Direction">Which way it improves.</param>
public sealed record MetricKind(string Name, MetricDirection Direction)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Classification accuracy: a fraction in [0, 1], higher is better.</summary>
    public static MetricKind Accuracy { get; } = new("accuracy", MetricDirection.HigherIsBetter);

    /// <summary>Perplexity exp(mean cross-entropy), lower is better.</summary>
    public static MetricKind Perplexity { get; } = new("perplexity", MetricDirection.LowerIsBetter);

    /// <summary>The metric a task names, with its direction.</summary>
    public static MetricKind Of(string name, bool higherIsBetter) =>
        new(name, higherIsBetter ? MetricDirection.HigherIsBetter : MetricDirection.LowerIsBetter);

    /// <summary>True when a larger value is better.</summary>
    [JsonIgnore]
    public bool HigherIsBetter => Direction == MetricDirection.HigherIsBetter;

    /// <summary>Accuracies are fractions and read best as percentages.</summary>
    private bool IsFraction => Name == "accuracy";

    /// <summary>"lower is better" or "higher is better".</summary>
    [JsonIgnore]
    public string DirectionText => HigherIsBetter ? "higher is better" : "lower is better";

    /// <summary>The value on a plot axis: percent for accuracy, the value itself otherwise.</summary>
    public double OnAxis(double value) => IsFraction ? 100 * value : value;

    /// <summary>The axis label of a test value, e.g. "test accuracy (%)" or "test perplexity (lower is better)".</summary>
    [JsonIgnore]
    public string AxisLabel => Label("test");

    /// <summary>The axis label of a value of <paramref name="split"/>, e.g. "validation accuracy (%)".</summary>
    public string Label(string split) => IsFraction ? $"{split} {Name} (%)" : $"{split} {Name} ({DirectionText})";

    /// <summary>A value for tables: "89.50%" or "5.164".</summary>
    public string Format(double value) => IsFraction ? (100 * value).ToString("F2", Inv) + "%" : value.ToString("F3", Inv);

    /// <summary>A spread or difference in the same unit without the sign's "+": "0.42" (points) or "0.013".</summary>
    public string FormatSpread(double value) => IsFraction ? (100 * value).ToString("F2", Inv) : value.ToString("F3", Inv);

    /// <summary>A signed difference: "+0.82 pts" or "-0.071".</summary>
    public string FormatDifference(double value)
    {
        var text = FormatSpread(value);
        return (value >= 0 ? "+" : "") + text + (IsFraction ? " pts" : "");
    }
}
