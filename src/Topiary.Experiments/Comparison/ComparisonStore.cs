using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.IO;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Comparison;

/// <summary>
/// A folder where a comparison keeps every finished run and every seed's dense model, each written atomically as soon
/// as it exists, so that a comparison run again into the same folder (after a kill, a crash or the end of a session)
/// continues from what it finished: a run whose settings match is taken as it is and not run again, a dense model is
/// loaded instead of trained. What must match is a run's identity, in canonical JSON: the model, the data, the seed,
/// the dense and the method's settings, the thread count and what the caller adds. Runs of other settings are left in
/// place and never reused, so a comparison can also grow by methods or seeds in the same folder.
/// </summary>
public sealed class ComparisonStore
{
    private const string RunsFolder = "runs";
    private const string DenseFolder = "dense";

    /// <summary>A store in <paramref name="directory"/> (created when the first run is saved).</summary>
    public ComparisonStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = directory;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>The finished run of <paramref name="identity"/>, or null when there is none (or it was written by other settings).</summary>
    /// <exception cref="ComparisonStoreException">The run's file is damaged.</exception>
    public ComparisonRun? FinishedRun(JsonObject identity)
    {
        var path = RunPath(identity);
        if (!File.Exists(path)) return null;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            if (root["identity"] is not JsonObject recorded || Canonical(recorded) != Canonical(identity)) return null;
            return root["run"].Deserialize<ComparisonRun>(ReportJson.Options) ?? throw new JsonException("field 'run' is missing");
        }
        catch (JsonException e)
        {
            throw new ComparisonStoreException(path, $"not a finished comparison run: {e.Message}");
        }
    }

    /// <summary>Keeps <paramref name="run"/>, finished with the settings of <paramref name="identity"/>.</summary>
    public void Save(JsonObject identity, ComparisonRun run)
    {
        var root = new JsonObject { ["identity"] = identity.DeepClone(), ["run"] = JsonSerializer.SerializeToNode(run, ReportJson.Options) };
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, RunsFolder));
        AtomicFile.WriteAllText(RunPath(identity), root.ToJsonString(ReportJson.Options) + "\n");
    }

    /// <summary>
    /// Puts the kept dense model of <paramref name="identity"/> into <paramref name="model"/> and returns its test metric,
    /// or returns null (and leaves the model alone) when none is kept.
    /// </summary>
    /// <exception cref="ComparisonStoreException">The file is damaged or holds other parameters.</exception>
    public double? LoadDense(JsonObject identity, nn.Module<Tensor, Tensor> model)
    {
        var path = DensePath(identity);
        if (!File.Exists(path)) return null;
        Dictionary<string, Tensor> tensors;
        JsonObject state;
        try { (state, tensors) = CheckpointFile.Read(path); }
        catch (CheckpointException e) { throw new ComparisonStoreException(path, e.Message); }
        try
        {
            if (state["identity"] is not JsonObject recorded || Canonical(recorded) != Canonical(identity)) return null;
            using var _ = no_grad();
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (!tensors.TryGetValue(name, out var saved) || !saved.shape.SequenceEqual(parameter.shape))
                    throw new ComparisonStoreException(path, $"holds no parameter '{name}' of shape [{string.Join(", ", parameter.shape)}]");
                parameter.copy_(saved);
            }
            return state["dense_test_metric"]?.GetValue<double>() ?? throw new ComparisonStoreException(path, "field 'dense_test_metric' is missing");
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>Keeps the dense model of <paramref name="identity"/> and its test metric.</summary>
    public void SaveDense(JsonObject identity, nn.Module<Tensor, Tensor> model, double denseTestMetric)
    {
        var state = new JsonObject { ["identity"] = identity.DeepClone(), ["dense_test_metric"] = denseTestMetric };
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, DenseFolder));
        CheckpointFile.Write(DensePath(identity), state, model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
    }

    /// <summary>JSON in one canonical text: the comparison of identities.</summary>
    public static string Canonical(JsonObject identity) => identity.ToJsonString();

    // One file per identity: a readable prefix (method and seed when given) and a digest of the whole identity.
    private string RunPath(JsonObject identity) => FilePath(RunsFolder, identity, ".json");

    private string DensePath(JsonObject identity) => FilePath(DenseFolder, identity, ".ckpt");

    private string FilePath(string folder, JsonObject identity, string extension)
    {
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(identity))))[..16];
        var label = string.Join("-", new[] { identity["label"]?.GetValue<string>(), identity["seed"] is { } seed ? $"seed{seed}" : null }.OfType<string>());
        var safe = new string(label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());
        return Path.Combine(Directory, folder, $"{safe}{(safe.Length > 0 ? "-" : "")}{digest}{extension}");
    }
}

/// <summary>A file of a <see cref="ComparisonStore"/> cannot be used; the message names it.</summary>
public sealed class ComparisonStoreException(string path, string reason) : Exception($"{path}: {reason}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;
}
