using System.Globalization;
using Topiary.Cli.Commands;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;
using Topiary.Experiments;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// Splits a comparison (and its grid) into the cells of a <see cref="SweepManifest"/>: per seed and per point of the
/// axes that are not method settings, one dense cell; per seed, point and method, one run cell for each combination of
/// the method settings in the grid that the method takes (<c>--alpha</c> sweeps relevance, not l2). The cells run with
/// the options a serial <c>topiary compare</c> gives the same run, so that their numbers are the same at the same
/// thread count.
/// </summary>
internal static class SweepPlanner
{
    // Options that are the sweep's, not a run's: where it writes, how it runs, and what the cells set themselves.
    private static readonly string[] NotCellOptions = ["local-jobs", "grid", "methods", "seed", "seeds"];

    // The flags of the method settings (--alpha, --gamma, …): an axis of these changes the runs of the methods that take it and no dense model.
    private static IReadOnlySet<string> MethodFlags => MethodLabel.SettingFlags;

    /// <summary>The manifest of <paramref name="compare"/> over <paramref name="grid"/>, every cell on <paramref name="threads"/> threads, at <paramref name="path"/>.</summary>
    /// <exception cref="CliUsageException">A cell's options are not valid (an axis value a flag does not take); the message names the cell.</exception>
    public static SweepManifest Plan(CompareSettings compare, IReadOnlyList<GridAxis> grid, int threads, string path)
    {
        var baseOptions = RunConfiguration.From(GivenOptions.Text(compare), threads, "compare").Options
            .Where(o => !NotCellOptions.Contains(o.Key)).ToDictionary(o => o.Key, o => o.Value);
        // The data is named in the manifest even when it is the default, so that every node reads the same files.
        if (compare.Family == ModelFamily.Image && !baseOptions.ContainsKey("data")) baseOptions["data"] = Path.GetFullPath(compare.DataDirectory);
        var labels = compare.MethodLabels;
        var seeds = compare.SeedList;
        var denseAxes = grid.Where(a => !MethodFlags.Contains(a.Flag)).ToList();
        var methodAxes = grid.Where(a => MethodFlags.Contains(a.Flag)).ToList();
        var cells = new List<SweepCell>();
        var denseOf = new Dictionary<(int Seed, string Point), int>();
        foreach (var point in Points(denseAxes))
            foreach (var seed in seeds)
            {
                var options = With(baseOptions, point, ("methods", string.Join(",", labels)), Seed(seed));
                denseOf[(seed, Key(point))] = Add(cells, CellKind.Dense, seed, Label("dense", point, denseAxes), options, []);
            }
        foreach (var seed in seeds)
            foreach (var densePoint in Points(denseAxes))
                foreach (var label in labels)
                {
                    var notTaken = NotTaken(compare, label, methodAxes);
                    var taken = methodAxes.Where(a => !notTaken.Contains(a.Flag)).ToList();
                    foreach (var methodPoint in Points(taken))
                    {
                        var options = With(baseOptions.Where(o => !notTaken.Contains(o.Key)).ToDictionary(), densePoint.Concat(methodPoint).ToList(),
                            ("methods", label), Seed(seed));
                        Add(cells, CellKind.Run, seed, Label(label, densePoint.Concat(methodPoint).ToList(), [.. denseAxes, .. taken]), options,
                            [denseOf[(seed, Key(densePoint))]]);
                    }
                }
        var manifest = new SweepManifest(path, threads, baseOptions, grid, cells);
        foreach (var cell in cells) Validate(cell, threads);
        return manifest;
    }

    /// <summary>The settings a cell runs with: its options, its threads, and its folder as the output.</summary>
    public static CompareSettings SettingsOf(SweepCell cell, int threads, string folder)
    {
        var settings = new CompareSettings();
        foreach (var (name, value) in cell.Options) GivenOptions.Assign(settings, name, value);
        GivenOptions.Assign(settings, "out", folder);
        GivenOptions.Assign(settings, "threads", threads.ToString(CultureInfo.InvariantCulture));
        return settings.Validate() is { Successful: false } invalid ? throw new CliUsageException($"{cell.Name}: {invalid.Message}") : settings;
    }

    private static void Validate(SweepCell cell, int threads)
    {
        var settings = SettingsOf(cell, threads, cell.Folder);
        try { settings.ForMethod(settings.MethodLabels[0]).Validate(); }
        catch (PruningOptionException e) { throw new CliUsageException($"{cell.Name}: {OptionFlags.Message(e)}"); }
    }

    /// <summary>The flags (without dashes) among the given method settings and the grid's that <paramref name="label"/>'s method does not take.</summary>
    private static HashSet<string> NotTaken(CompareSettings compare, string label, IReadOnlyList<GridAxis> methodAxes)
    {
        var probe = new CompareSettings();
        foreach (var (name, value) in GivenOptions.Text(compare).Where(o => o.Key != "grid")) GivenOptions.Assign(probe, name, value);
        foreach (var axis in methodAxes) GivenOptions.Assign(probe, axis.Flag, axis.Values[0]);
        var method = probe.ForMethod(label).Method;
        return probe.GivenMethodSettings.NotTakenBy(method).Select(p => OptionFlags.Of(p)[2..]).ToHashSet();
    }

    private static int Add(List<SweepCell> cells, CellKind kind, int seed, string label, Dictionary<string, string?> options, IReadOnlyList<int> dependsOn)
    {
        var index = cells.Count;
        var safe = new string(label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+' or '=' ? c : '_').ToArray());
        cells.Add(new SweepCell(index, kind, seed, label, options, $"cells/{index:D3}-{safe}-seed{seed}", dependsOn));
        return index;
    }

    /// <summary>Every combination of one value per axis (one empty combination without axes).</summary>
    private static IEnumerable<List<(string Flag, string Value)>> Points(IReadOnlyList<GridAxis> axes) =>
        axes.Aggregate((IEnumerable<List<(string, string)>>)[[]], (points, axis) => points.SelectMany(p => axis.Values.Select(v => new List<(string, string)>(p) { (axis.Flag, v) })));

    private static string Key(IEnumerable<(string Flag, string Value)> point) => string.Join(";", point.Select(p => $"{p.Flag}={p.Value}"));

    /// <summary>The label with the point's values of the axes that have more than one: <c>relevance[alpha=auto:0.5,gamma=1e-3]</c>.</summary>
    private static string Label(string name, IEnumerable<(string Flag, string Value)> point, IReadOnlyList<GridAxis> axes) =>
        MethodLabel.WithSettings(name, point.Where(p => axes.Any(a => a.Flag == p.Flag && a.Values.Count > 1)).Select(p => $"{p.Flag}={p.Value}").ToList());

    private static (string, string?) Seed(int seed) => ("seed", seed.ToString(CultureInfo.InvariantCulture));

    private static Dictionary<string, string?> With(IReadOnlyDictionary<string, string?> options, IEnumerable<(string Flag, string Value)> point,
        params (string, string?)[] more)
    {
        var result = new Dictionary<string, string?>(options);
        foreach (var (flag, value) in point) result[flag] = value;
        foreach (var (flag, value) in more) result[flag] = value;
        result["seeds"] = "1";
        return result;
    }
}
