using System.Text.Json;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Comparison;

/// <summary>Writes and reads <c>comparison.json</c> with the same conventions as <c>report.json</c> (<see cref="ReportJson.Options"/>).</summary>
public static class ComparisonJson
{
    /// <summary>Serializes the report (indented, snake_case).</summary>
    public static string Serialize(ComparisonReport report) => JsonSerializer.Serialize(report, ReportJson.Options);

    /// <summary>Writes the report atomically.</summary>
    public static void Write(ComparisonReport report, string path) => AtomicFile.WriteAllText(path, Serialize(report) + "\n");

    /// <summary>Reads a report written by <see cref="Write"/>.</summary>
    public static ComparisonReport Read(string path) =>
        JsonSerializer.Deserialize<ComparisonReport>(File.ReadAllText(path), ReportJson.Options) ?? throw new JsonException($"{path}: the report is null");
}
