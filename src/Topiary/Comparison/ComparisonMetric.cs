using System.Globalization;
using System.Text.Json.Serialization;

namespace Topiary.Comparison;

/// <summary>
/// The metric a comparison reports, with its direction, so that the JSON, the Markdown and the plot name
/// and format it right: accuracy (a fraction, shown in %, higher is better) or perplexity (shown as is,
/// lower is better).
/// </summary>
/// <param name="Name">The task's metric name (<c>accuracy</c>, <c>perplexity</c>).</param>
/// <param name="HigherIsBetter">True when a larger value is better.</param>
public sealed record ComparisonMetric(string Name, bool HigherIsBetter)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Accuracies are fractions and read best as percentages.</summary>
    private bool IsFraction => Name == "accuracy";

    /// <summary>"lower is better" or "higher is better".</summary>
    public string Direction => HigherIsBetter ? "higher is better" : "lower is better";

    /// <summary>The value on a plot axis: percent for accuracy, the value itself otherwise.</summary>
    public double OnAxis(double value) => IsFraction ? 100 * value : value;

    /// <summary>The axis label, e.g. "test accuracy (%)" or "test perplexity (lower is better)".</summary>
    [JsonIgnore]
    public string AxisLabel => IsFraction ? $"test {Name} (%)" : $"test {Name} ({Direction})";

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
