using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.IO;

namespace Topiary.Cli.Sweeps;

/// <summary>One axis of a sweep's grid: a flag and the values it takes.</summary>
/// <param name="Flag">The flag without dashes (<c>alpha</c>).</param>
/// <param name="Values">Its values, as the command line would give them.</param>
internal sealed record GridAxis(string Flag, IReadOnlyList<string> Values);

/// <summary>
/// A sweep written down as independent cells (<c>sweep.json</c>, versioned): the comparison's options, its grid, the
/// threads every cell runs with, and the cells, dense ones first (so that they form one Slurm array and the rest
/// another). Any runner (<c>sweep run-cell</c> by index under Slurm, a Kubernetes Indexed Job, GNU parallel, or
/// <c>--local-jobs</c>) runs the cells; <c>sweep collect</c> merges them.
/// </summary>
internal sealed record SweepManifest(string Path, int Threads, IReadOnlyDictionary<string, string?> Options, IReadOnlyList<GridAxis> Grid,
    IReadOnlyList<SweepCell> Cells)
{
    public const string FileName = "sweep.json";
    public const int CurrentVersion = 1;

    /// <summary>The folder of the manifest, which cell folders are relative to.</summary>
    public string Directory => System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;

    /// <summary>The absolute folder of <paramref name="cell"/>.</summary>
    public string FolderOf(SweepCell cell) => System.IO.Path.Combine(Directory, cell.Folder);

    /// <summary>The dense cells (the first ones) and the run cells.</summary>
    public IReadOnlyList<SweepCell> DenseCells => Cells.Where(c => c.Kind == CellKind.Dense).ToList();

    /// <inheritdoc cref="DenseCells"/>
    public IReadOnlyList<SweepCell> RunCells => Cells.Where(c => c.Kind == CellKind.Run).ToList();

    /// <summary>The cell at <paramref name="index"/>; the error names the flag.</summary>
    public SweepCell Cell(int index) => index >= 0 && index < Cells.Count ? Cells[index]
        : throw new CliUsageException($"--index: {Path} has cells 0 to {Cells.Count - 1}, got {index}");

    /// <summary>Writes the manifest atomically.</summary>
    public void Write()
    {
        var root = new JsonObject
        {
            ["version"] = CurrentVersion,
            ["kind"] = "topiary-sweep",
            ["command"] = "compare",
            ["tool_version"] = ToolInfo.Version,
            ["threads"] = Threads,
            ["options"] = Object(Options),
            ["grid"] = new JsonArray(Grid.Select(a => (JsonNode)new JsonObject
            {
                ["flag"] = a.Flag,
                ["values"] = new JsonArray(a.Values.Select(v => (JsonNode)v).ToArray()),
            }).ToArray()),
            ["cells"] = new JsonArray(Cells.Select(c => (JsonNode)new JsonObject
            {
                ["index"] = c.Index,
                ["kind"] = c.Kind.ToString().ToLowerInvariant(),
                ["seed"] = c.Seed,
                ["label"] = c.Label,
                ["folder"] = c.Folder,
                ["depends_on"] = new JsonArray(c.DependsOn.Select(i => (JsonNode)i).ToArray()),
                ["options"] = Object(c.Options),
            }).ToArray()),
        };
        AtomicFile.WriteAllText(Path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Writes the manifest, or keeps the one already in its place when it plans the same cells (the sweep is
    /// being continued); a different plan in the same folder is refused, naming <paramref name="flag"/>.
    /// </summary>
    public void WriteOrKeep(string flag)
    {
        if (File.Exists(Path))
        {
            var existing = Read(Path);
            var differ = Cells.Count != existing.Cells.Count || existing.Threads != Threads
                ? Cells.Select(c => c.Index).ToList()
                : Cells.Where(c => c.Identity(Threads) != existing.Cells[c.Index].Identity(existing.Threads)).Select(c => c.Index).ToList();
            if (differ.Count == 0) return;
            throw new CliUsageException($"{flag}: {Directory} holds a sweep planned with other settings (cells {Ranges(differ)} differ); choose another {flag}");
        }
        Write();
    }

    private static string Ranges(IReadOnlyList<int> indices) =>
        string.Join(",", indices.Take(8)) + (indices.Count > 8 ? $",… ({indices.Count} in all)" : "");

    /// <summary>Reads a manifest; every error names the file and what is wrong.</summary>
    public static SweepManifest Read(string path)
    {
        if (System.IO.Directory.Exists(path)) path = System.IO.Path.Combine(path, FileName);
        if (!File.Exists(path)) throw new CliUsageException($"MANIFEST: {path} not found (write one with topiary sweep plan)");
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw Bad(path, "not a JSON object");
            if (root["kind"]?.GetValue<string>() != "topiary-sweep") throw Bad(path, "not a sweep manifest (field 'kind' is not 'topiary-sweep')");
            var version = root["version"]?.GetValue<int>() ?? throw Bad(path, "field 'version' is missing");
            if (version > CurrentVersion) throw Bad(path, $"version {version} is newer than this Topiary reads ({CurrentVersion}); update Topiary");
            var threads = root["threads"]?.GetValue<int>() ?? throw Bad(path, "field 'threads' is missing");
            if (threads < 1) throw Bad(path, $"field 'threads' must be at least 1, got {threads}");
            var grid = (root["grid"] as JsonArray ?? [])
                .Select(a => new GridAxis(a!["flag"]!.GetValue<string>(), a["values"]!.AsArray().Select(v => v!.GetValue<string>()).ToList())).ToList();
            var cells = (root["cells"] as JsonArray ?? throw Bad(path, "field 'cells' is missing")).Select((node, position) =>
            {
                var cell = node as JsonObject ?? throw Bad(path, $"cells[{position}] is not an object");
                var kind = cell["kind"]?.GetValue<string>() switch
                {
                    "dense" => CellKind.Dense,
                    "run" => CellKind.Run,
                    var other => throw Bad(path, $"cells[{position}]: unknown kind '{other}' (expected dense or run)"),
                };
                return new SweepCell(cell["index"]!.GetValue<int>(), kind, cell["seed"]!.GetValue<int>(), cell["label"]!.GetValue<string>(),
                    Strings(cell["options"] as JsonObject ?? throw Bad(path, $"cells[{position}]: field 'options' is missing")),
                    cell["folder"]!.GetValue<string>(), (cell["depends_on"] as JsonArray ?? []).Select(i => i!.GetValue<int>()).ToList());
            }).ToList();
            var manifest = new SweepManifest(path, threads, Strings(root["options"] as JsonObject ?? []), grid, cells);
            return manifest.Check() is { } error ? throw Bad(path, error) : manifest;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw Bad(path, $"not a valid sweep manifest: {e.Message.Split('\n')[0]}");
        }
        catch (IOException e)
        {
            throw Bad(path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>
    /// The cells that have run (their folder keeps what they ran with) under other settings than this manifest now gives
    /// them: a manifest edited after cells ran would mix results of two different sweeps.
    /// </summary>
    public IReadOnlyList<SweepCell> Changed(IEnumerable<SweepCell>? among = null) =>
        (among ?? Cells).Where(c => CellRecord.Read(FolderOf(c)) is { } record && record.Identity != c.Identity(Threads)).ToList();

    /// <summary>
    /// Refuses a manifest with <see cref="Changed"/> cells, naming them; <paramref name="among"/> limits the check to the
    /// cells a command uses (a cell and its dense cell, for one runner of thousands on a shared file system).
    /// </summary>
    public SweepManifest RequireUnchanged(IEnumerable<SweepCell>? among = null)
    {
        var changed = Changed(among);
        if (changed.Count == 0) return this;
        throw new CliUsageException($"MANIFEST: {Path} was edited after {(changed.Count == 1 ? "this cell" : "these cells")} ran with other settings: " +
            $"{string.Join(", ", changed.Select(c => c.Name))}; restore the manifest, or plan the new sweep into another folder");
    }

    private string? Check()
    {
        for (var i = 0; i < Cells.Count; i++)
        {
            var cell = Cells[i];
            if (cell.Index != i) return $"cells[{i}] has index {cell.Index}; cells are numbered 0, 1, … in order";
            if (cell.Kind == CellKind.Dense && i > 0 && Cells[i - 1].Kind == CellKind.Run) return $"cells[{i}]: dense cells come before run cells";
            if (cell.DependsOn.Any(d => d < 0 || d >= i || Cells[d].Kind != CellKind.Dense))
                return $"cells[{i}]: depends_on must name dense cells before it";
            if (cell.Kind == CellKind.Run && cell.DependsOn.Count != 1) return $"cells[{i}]: a run cell depends on exactly one dense cell";
            if (System.IO.Path.IsPathRooted(cell.Folder) || cell.Folder.Split('/', '\\').Contains("..") || cell.Folder.Length == 0)
                return $"cells[{i}]: folder '{cell.Folder}' must be a relative path inside the manifest's folder";
        }
        return Cells.GroupBy(c => c.Folder).FirstOrDefault(g => g.Count() > 1) is { } shared ? $"cells {string.Join(" and ", shared.Select(c => c.Index))} share folder '{shared.Key}'" : null;
    }

    private static JsonObject Object(IReadOnlyDictionary<string, string?> options)
    {
        var json = new JsonObject();
        foreach (var (name, value) in options.OrderBy(o => o.Key, StringComparer.Ordinal)) json[name] = value;
        return json;
    }

    private static Dictionary<string, string?> Strings(JsonObject json) => json.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>());

    private static CliUsageException Bad(string path, string reason) => new($"MANIFEST: {path}: {reason}");
}
