using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Cli.Commands;
using Topiary.Cli.Settings;
using Topiary.IO;

namespace Topiary.Cli.Runs;

/// <summary>
/// A <c>topiary prune</c> or <c>topiary compare</c> run's settings, written once into its folder as <c>run.json</c>
/// (versioned): the command, the options it was given, by flag name, and the thread count (bit-identical results need
/// the same one). It is the only source <c>--resume DIR</c> reads, for every model; the checkpoints (and a comparison's
/// kept runs) record the options the run resolved from it in canonical form, and what differs is not reused. Folders of
/// Topiary 0.1.0 kept it as <c>checkpoint/recipe.json</c> (version 0, <c>prune</c> only), which still resumes.
/// </summary>
/// <remarks>Version 2 (the demo of <c>prune</c> stops at 2 % left) reads version 1 with the defaults of its day.</remarks>
internal sealed record RunConfiguration(IReadOnlyDictionary<string, string?> Options, int Threads, string Command = "prune", int Version = RunConfiguration.CurrentVersion)
{
    public const string FileName = "run.json";
    public const int CurrentVersion = 2;
    private const string LegacyFileName = "recipe.json";

    // Where the run writes is the folder being resumed, not a setting of the run.
    private static readonly string[] NotStored = ["out", "threads", "resume", "help"];

    // Paths are stored absolute, so that a resume from another working directory finds the same files.
    private static readonly string[] PathOptions = ["data", "from", "recipe", "corpus", "source", "target"];

    public static RunConfiguration From(IReadOnlyDictionary<string, string?> given, int threads, string command = "prune") =>
        new(new SortedDictionary<string, string?>(given.Where(o => !NotStored.Contains(o.Key))
            .ToDictionary(o => o.Key, o => PathOptions.Contains(o.Key) && o.Value is { } path && LooksLikePath(path) ? Path.GetFullPath(path) : o.Value),
            StringComparer.Ordinal), threads, command);

    /// <summary>Writes <c>run.json</c> into <paramref name="runDirectory"/> (created if missing), atomically.</summary>
    public void Write(string runDirectory)
    {
        var options = new JsonObject();
        foreach (var (name, value) in Options) options[name] = value;
        Directory.CreateDirectory(runDirectory);
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName),
            new JsonObject { ["version"] = CurrentVersion, ["command"] = Command, ["tool_version"] = ToolInfo.Version, ["options"] = options, ["threads"] = Threads }
                .ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads the configuration of the <paramref name="command"/> run in <paramref name="runDirectory"/>; errors name the file and field.</summary>
    public static RunConfiguration Read(string runDirectory, string command = "prune")
    {
        if (!Directory.Exists(runDirectory)) throw new CliUsageException($"--resume: {runDirectory} does not exist");
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) path = Path.Combine(RunCheckpoints.Directory(runDirectory), LegacyFileName);
        if (!File.Exists(path)) throw new CliUsageException($"--resume: {Path.Combine(runDirectory, FileName)} not found; {runDirectory} is not the folder of a topiary {command} run");
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw Bad(path, "the file is not a JSON object");
            var version = root["version"]?.GetValue<int>() ?? 0;
            if (version > CurrentVersion) throw Bad(path, $"version {version} is newer than this Topiary reads ({CurrentVersion}); update Topiary");
            var recorded = root["command"]?.GetValue<string>() ?? "prune";
            if (recorded != command) throw Bad(path, $"the folder holds a topiary {recorded} run; continue it with topiary {recorded} --resume {runDirectory}");
            var options = root["options"] as JsonObject ?? throw Bad(path, "field 'options' is missing or not an object");
            var values = new Dictionary<string, string?>();
            foreach (var (name, value) in options)
            {
                if (name.Length == 0 || name.StartsWith('-') || NotStored.Contains(name)) throw Bad(path, $"field 'options' holds an invalid option name '{name}'");
                values[name] = value is null ? null : value.GetValue<string>();
            }
            var threads = root["threads"]?.GetValue<int>() ?? throw Bad(path, "field 'threads' is missing");
            if (threads < 1) throw Bad(path, $"field 'threads' must be at least 1, got {threads}");
            return new RunConfiguration(values, threads, command, version);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw Bad(path, $"not a valid run configuration: {e.Message.Split('\n')[0]}");
        }
        catch (IOException e)
        {
            throw Bad(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>The settings of the run, writing into <paramref name="runDirectory"/> with its thread count.</summary>
    public TSettings Settings<TSettings>(string runDirectory) where TSettings : TrainingSettings, new()
    {
        var settings = new TSettings();
        foreach (var (name, value) in Options) GivenOptions.Assign(settings, name, value);
        GivenOptions.Assign(settings, "out", runDirectory);
        GivenOptions.Assign(settings, "threads", Threads.ToString(CultureInfo.InvariantCulture));
        if (Version < 2 && settings is PruneSettings prune) prune.DemoStops = false;
        return settings.Validate() is { Successful: false } invalid ? throw new CliUsageException(invalid.Message!) : settings;
    }

    /// <summary>
    /// The settings of the <paramref name="command"/> run in <paramref name="directory"/>, which <paramref name="given"/>
    /// asks to resume: the run's own settings come from its folder, and any other option would make it a different run.
    /// </summary>
    public static TSettings Resumed<TSettings>(TSettings given, string directory, string command) where TSettings : TrainingSettings, new()
    {
        if (GivenOptions.Of(given).Select(o => o.Flag).FirstOrDefault(f => f != "--resume") is { } other)
            throw new CliUsageException($"{other}: cannot be combined with --resume (the run keeps the settings it was started with)");
        return Read(directory, command).Settings<TSettings>(directory);
    }

    // A corpus may be a catalogue name (web) rather than a path.
    private static bool LooksLikePath(string value) => value.Contains('/') || value.Contains('.') || File.Exists(value) || Directory.Exists(value);

    private static CliUsageException Bad(string path, string reason) => new($"--resume: {path}: {reason}");
}
