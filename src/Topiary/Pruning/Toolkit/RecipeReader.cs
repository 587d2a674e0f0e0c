using System.Text.Json;
using System.Text.Json.Nodes;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Reads and validates a recipe file. Unknown fields, wrong types and out-of-range values are rejected with
/// a <see cref="RecipeException"/> whose one-line message names the file and the field:
/// <code>
/// { "method": "gmp",
///   "regularizer": { "gamma": 0, "alpha": 1, "decay": true, "reg": "spectral:1e-3,so:1e-4" },
///   "schedule": { "kind": "polynomial", "target_sparsity": 0.9, "pruning_steps": 10, "frequency": 100 },
///   "select": { "module_types": ["Linear"], "name_pattern": "fc*", "scope": "weights" },
///   "ranking": "global", "criterion": "magnitude",
///   "limits": { "default": { "min": 0, "max": 0.98 }, "layers": { "fc3.*": { "max": 0.5 } } } }
/// </code>
/// </summary>
public static class RecipeReader
{
    /// <summary>Reads <paramref name="path"/>; <paramref name="methods"/> lists the accepted method names.</summary>
    public static PruningRecipe Read(string path, IReadOnlyCollection<string> methods)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RecipeException(path, "(file)", e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message);
        }
        return Parse(text, path, methods);
    }

    /// <summary>Parses recipe JSON; <paramref name="file"/> is only used in messages.</summary>
    public static PruningRecipe Parse(string json, string file, IReadOnlyCollection<string> methods)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new RecipeException(file, "(json)", $"not valid JSON: {e.Message.Split('.')[0]}");
        }
        var r = new Fields(file, "", root as JsonObject ?? throw new RecipeException(file, "(root)", "must be a JSON object"));
        r.Only("method", "regularizer", "schedule", "select", "ranking", "criterion", "limits");
        var method = r.String("method") ?? "relevance";
        if (!methods.Contains(method)) throw r.Error("method", $"unknown method '{method}' (expected one of: {string.Join(", ", methods)})");

        var reg = r.Object("regularizer");
        reg?.Only("gamma", "alpha", "decay", "reg");
        var gamma = reg?.Number("gamma", min: 0);
        var alpha = reg?.Number("alpha", min: 0, exclusiveMin: true);
        var decay = reg?.Bool("decay");
        var terms = reg?.String("reg");
        if (terms is not null)
        {
            // The same list as --reg, checked the same way, so a recipe cannot hold what the flag would refuse.
            try { Regularization.RegularizerSpec.Parse(terms); }
            catch (FormatException e) { throw reg!.Error("reg", e.Message); }
        }

        var s = r.Object("schedule") ?? throw r.Error("schedule", "is required");
        s.Only("kind", "target_sparsity", "crop_fraction", "initial_sparsity", "start_step", "pruning_steps", "frequency", "twt", "pwe", "n", "m", "norm");
        var kind = s.String("kind") ?? throw s.Error("kind", $"is required (one of: {string.Join(", ", RecipeSchedule.Kinds)})");
        if (!RecipeSchedule.Kinds.Contains(kind)) throw s.Error("kind", $"unknown schedule '{kind}' (expected one of: {string.Join(", ", RecipeSchedule.Kinds)})");
        var schedule = new RecipeSchedule(kind,
            TargetSparsity: s.Fraction("target_sparsity", required: kind is "one-shot" or "polynomial" or "structured"),
            CropFraction: s.Fraction("crop_fraction", required: kind == "iterative"),
            InitialSparsity: s.Number("initial_sparsity", min: 0, max: 1),
            StartStep: (long?)s.Number("start_step", min: 0, integer: true),
            PruningSteps: (int?)s.Number("pruning_steps", min: 1, integer: true, required: kind == "polynomial"),
            Frequency: (long?)s.Number("frequency", min: 1, integer: true, required: kind == "polynomial"),
            Twt: s.Number("twt", min: 0),
            Pwe: (int?)s.Number("pwe", min: 0, integer: true),
            N: (int?)s.Number("n", min: 1, integer: true, required: kind == "n-of-m"),
            M: (int?)s.Number("m", min: 2, integer: true, required: kind == "n-of-m"),
            Norm: s.Number("norm", min: 0, exclusiveMin: true));
        if (schedule is { N: { } keptPerBlock, M: { } block } && keptPerBlock >= block)
            throw s.Error("n", $"must be less than m ({keptPerBlock} ≥ {block})");
        if (schedule is { InitialSparsity: { } si, TargetSparsity: { } sf } && si > sf)
            throw s.Error("initial_sparsity", $"must not exceed target_sparsity ({si} > {sf})");

        var sel = r.Object("select");
        sel?.Only("module_types", "name_pattern", "scope");
        var types = sel?.StringArray("module_types");
        // Without a scope a recipe prunes what a run without a recipe prunes (weights and biases, Bonetta et al.'s choice).
        var scope = sel?.String("scope") switch
        {
            "weights" => ParameterScope.Weights,
            null or "all" => ParameterScope.WeightsAndBiases,
            var other => throw sel!.Error("scope", $"unknown scope '{other}' (expected weights or all)"),
        };
        var selector = new LayerSelector { ModuleTypes = types, NamePattern = sel?.String("name_pattern"), Scope = scope };

        var ranking = r.String("ranking") switch
        {
            null or "global" => RankingScope.Global,
            "per-layer" => RankingScope.PerLayer,
            var other => throw r.Error("ranking", $"unknown ranking '{other}' (expected global or per-layer)"),
        };

        var criterion = r.String("criterion") is { } named ? Criterion(r, named) : (PruningCriterion?)null;

        var limits = LayerLimits.None;
        if (r.Object("limits") is { } l)
        {
            l.Only("default", "layers");
            var overrides = new List<(string, SparsityLimits)>();
            if (l.Object("layers") is { } layers)
                foreach (var name in layers.Names)
                    overrides.Add((name, Limits(layers.Object(name)!)));
            limits = new LayerLimits { Default = l.Object("default") is { } d ? Limits(d) : SparsityLimits.None, Overrides = overrides };
        }
        return new PruningRecipe(method, gamma, alpha, decay, schedule, selector, ranking, limits) { Regularizers = terms, Criterion = criterion };
    }

    private static PruningCriterion Criterion(Fields r, string named) =>
        !int.TryParse(named, out _) && Enum.TryParse<PruningCriterion>(named, ignoreCase: true, out var criterion) && Enum.IsDefined(criterion) ? criterion
            : throw r.Error("criterion", $"unknown criterion '{named}' (expected one of: {string.Join(", ", Enum.GetNames<PruningCriterion>().Select(n => n.ToLowerInvariant()))})");

    private static SparsityLimits Limits(Fields f)
    {
        f.Only("min", "max");
        var min = f.Number("min", min: 0, max: 1) ?? 0;
        var max = f.Number("max", min: 0, max: 1) ?? 1;
        if (min > max) throw f.Error("min", $"must not exceed max ({min} > {max})");
        return new SparsityLimits(min, max);
    }

    /// <summary>Typed access to one JSON object, with errors that carry the field's path.</summary>
    private sealed class Fields(string file, string path, JsonObject node)
    {
        public IEnumerable<string> Names => node.Select(p => p.Key);

        public RecipeException Error(string field, string reason) => new(file, Path(field), reason);

        public void Only(params string[] allowed)
        {
            var extra = node.Select(p => p.Key).FirstOrDefault(k => !allowed.Contains(k));
            if (extra is not null) throw Error(extra, $"unknown field (expected: {string.Join(", ", allowed)})");
        }

        public Fields? Object(string field) => Get(field) switch
        {
            null => null,
            JsonObject o => new Fields(file, Path(field), o),
            _ => throw Error(field, "must be an object"),
        };

        public string? String(string field) => Get(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw Error(field, "must be a string"),
        };

        public bool? Bool(string field) => Get(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw Error(field, "must be true or false"),
        };

        public IReadOnlyList<string>? StringArray(string field) => Get(field) switch
        {
            null => null,
            JsonArray a when a.Count > 0 && a.All(x => x is JsonValue v && v.TryGetValue<string>(out _)) => a.Select(x => x!.GetValue<string>()).ToList(),
            _ => throw Error(field, "must be a non-empty array of strings"),
        };

        public double? Fraction(string field, bool required = false)
        {
            var value = Number(field, required: required);
            if (value is { } v && !(v > 0 && v < 1)) throw Error(field, $"must lie in (0, 1), got {v}");
            return value;
        }

        public double? Number(string field, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
            bool exclusiveMin = false, bool integer = false, bool required = false)
        {
            var node = Get(field);
            if (node is null) return required ? throw Error(field, "is required") : null;
            if (node is not JsonValue v || !v.TryGetValue<double>(out var x)) throw Error(field, "must be a number");
            if (!double.IsFinite(x) || x < min || x > max || (exclusiveMin && x == min))
                throw Error(field, $"must lie in {(exclusiveMin ? "(" : "[")}{min}, {max}], got {x}");
            if (integer && x != Math.Floor(x)) throw Error(field, $"must be a whole number, got {x}");
            return x;
        }

        private JsonNode? Get(string field) => node.TryGetPropertyValue(field, out var value) ? value : null;

        private string Path(string field) => string.IsNullOrEmpty(path) ? field : $"{path}.{field}";
    }
}
