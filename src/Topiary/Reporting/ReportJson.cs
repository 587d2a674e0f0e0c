using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Topiary.IO;

namespace Topiary.Reporting;

/// <summary>
/// Reads and writes <see cref="RunReport"/> as JSON (<c>report.json</c>): snake_case keys, indented,
/// doubles written in their shortest round-trippable form, and NaN/Infinity written as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> instead of failing.
/// </summary>
public static class ReportJson
{
    /// <summary>
    /// The serializer options used for reports (read-only): <see cref="JsonNamingPolicy.SnakeCaseLower"/>,
    /// indented, <see cref="JsonNumberHandling.AllowNamedFloatingPointLiterals"/>, non-ASCII text kept readable.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes <paramref name="report"/> to indented JSON (no trailing newline).</summary>
    /// <param name="report">The report to serialize.</param>
    /// <returns>The JSON text.</returns>
    public static string Serialize(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return JsonSerializer.Serialize(report, Options);
    }

    /// <summary>
    /// Parses a report written by <see cref="Serialize"/>. Values of <see cref="RunReport.Hyperparameters"/>
    /// come back as <see cref="JsonElement"/>.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The report.</returns>
    /// <exception cref="JsonException">The text is not a valid report (including a missing required key).</exception>
    public static RunReport Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<RunReport>(json, Options)
            ?? throw new JsonException("The report JSON is 'null'.");
    }

    /// <summary>Writes <paramref name="report"/> as JSON (with a trailing newline) to <paramref name="path"/> atomically.</summary>
    /// <param name="report">The report to write.</param>
    /// <param name="path">Target file, usually <c>report.json</c>; its directory is created if missing.</param>
    public static void Write(RunReport report, string path) =>
        AtomicFile.WriteAllText(path, Serialize(report) + "\n");

    /// <summary>Reads a report written by <see cref="Write"/>.</summary>
    /// <param name="path">The JSON file.</param>
    /// <returns>The report.</returns>
    public static RunReport Read(string path) => Deserialize(File.ReadAllText(path));

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null, // hyperparameter keys stay exactly as the CLI names them
            WriteIndented = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // The file is never embedded in HTML; keep "≥", "γ" and quotes readable instead of \uXXXX.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }
}
