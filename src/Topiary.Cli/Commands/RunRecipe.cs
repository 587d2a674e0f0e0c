using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Cli.Settings;
using Topiary.IO;

namespace Topiary.Cli.Commands;

/// <summary>
/// The options a <c>topiary prune</c> run was started with, kept in its checkpoint folder
/// (<c>recipe.json</c>) so that <c>--resume DIR</c> needs nothing else: the same settings, data and
/// thread count (bit-identical results need the same thread count).
/// </summary>
internal sealed record RunRecipe(IReadOnlyDictionary<string, string?> Options, int Threads)
{
    public const string FileName = "recipe.json";

    // Where the run writes is the folder being resumed, not a setting of the run.
    private static readonly string[] NotStored = ["out", "threads", "resume", "help"];

    // Paths are stored absolute, so that a resume from another working directory finds the same files.
    private static readonly string[] PathOptions = ["data", "from"];

    public static RunRecipe From(IReadOnlyDictionary<string, string?> given, int threads) =>
        new(given.Where(o => !NotStored.Contains(o.Key))
            .ToDictionary(o => o.Key, o => PathOptions.Contains(o.Key) && o.Value is { } path ? Path.GetFullPath(path) : o.Value), threads);

    public void Write(string checkpointDirectory)
    {
        var options = new JsonObject();
        foreach (var (name, value) in Options) options[name] = value;
        AtomicFile.WriteAllText(Path.Combine(checkpointDirectory, FileName),
            new JsonObject { ["options"] = options, ["threads"] = Threads }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads the recipe of the run in <paramref name="runDirectory"/>; errors name the file and field.</summary>
    public static RunRecipe Read(string runDirectory, string checkpointDirectory)
    {
        var path = Path.Combine(checkpointDirectory, FileName);
        if (!Directory.Exists(runDirectory)) throw new CliUsageException($"--resume: {runDirectory} does not exist");
        if (!File.Exists(path)) throw new CliUsageException($"--resume: {path} not found; {runDirectory} is not the folder of a topiary prune run");
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw Bad(path, "the file is not a JSON object");
            var options = root["options"] as JsonObject ?? throw Bad(path, "field 'options' is missing or not an object");
            var values = new Dictionary<string, string?>();
            foreach (var (name, value) in options)
            {
                if (name.Length == 0 || name.StartsWith('-') || NotStored.Contains(name)) throw Bad(path, $"field 'options' holds an invalid option name '{name}'");
                values[name] = value is null ? null : value.GetValue<string>();
            }
            var threads = root["threads"]?.GetValue<int>() ?? throw Bad(path, "field 'threads' is missing");
            if (threads < 1) throw Bad(path, $"field 'threads' must be at least 1, got {threads}");
            return new RunRecipe(values, threads);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw Bad(path, $"not a valid recipe: {e.Message.Split('\n')[0]}");
        }
        catch (IOException e)
        {
            throw Bad(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>The run's settings as it was started, writing to <paramref name="runDirectory"/> with the same thread count.</summary>
    public PruneSettings Settings(string runDirectory)
    {
        var settings = new PruneSettings();
        foreach (var (name, value) in Options) GivenOptions.Assign(settings, name, value);
        GivenOptions.Assign(settings, "out", runDirectory);
        GivenOptions.Assign(settings, "threads", Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return settings.Validate() is { Successful: false } invalid ? throw new CliUsageException(invalid.Message!) : settings;
    }

    private static CliUsageException Bad(string path, string reason) => new($"--resume: {path}: {reason}");
}
