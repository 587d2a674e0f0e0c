using System.Text.Json.Nodes;

namespace Topiary.Cli.Sweeps;

/// <summary>What a cell of a sweep runs.</summary>
internal enum CellKind
{
    /// <summary>Trains one seed's dense model, which the run cells of that seed start from.</summary>
    Dense,

    /// <summary>Prunes with one method (and one point of the grid) on one seed.</summary>
    Run,
}

/// <summary>
/// One independent run of a <see cref="SweepManifest"/>: its own folder, the complete <c>topiary compare</c> options it
/// runs with (by flag name, as <c>run.json</c> keeps them), and the dense cell it starts from.
/// </summary>
/// <param name="Index">Position in the manifest, which runners address it by (a Slurm array task id).</param>
/// <param name="Kind">Dense model or pruning run.</param>
/// <param name="Seed">The seed of its split, initialization and batch order.</param>
/// <param name="Label">The method label (with the grid point it runs, if any), as reports list it; "dense" for a dense cell.</param>
/// <param name="Options">Every option of the cell, by flag name without dashes (<c>--methods</c> holds its one method).</param>
/// <param name="Folder">Its folder, relative to the manifest's.</param>
/// <param name="DependsOn">Indices of the cells that must finish first (a run cell's dense cell).</param>
internal sealed record SweepCell(int Index, CellKind Kind, int Seed, string Label, IReadOnlyDictionary<string, string?> Options, string Folder,
    IReadOnlyList<int> DependsOn)
{
    /// <summary>"cell 3 (relevance seed 1234)": how messages name it.</summary>
    public string Name => $"cell {Index} ({Label} seed {Seed})";

    /// <summary>
    /// What the cell's results depend on, in one canonical JSON text: kept in its folder when it starts, so that a manifest
    /// edited after the cell ran is noticed (<see cref="SweepManifest.Changed"/>).
    /// </summary>
    public string Identity(int threads)
    {
        var options = new JsonObject();
        foreach (var (name, value) in Options.OrderBy(o => o.Key, StringComparer.Ordinal)) options[name] = value;
        return new JsonObject
        {
            ["kind"] = Kind.ToString().ToLowerInvariant(),
            ["seed"] = Seed,
            ["label"] = Label,
            ["threads"] = threads,
            ["options"] = options,
            ["depends_on"] = new JsonArray(DependsOn.Select(i => (JsonNode)i).ToArray()),
        }.ToJsonString();
    }
}
