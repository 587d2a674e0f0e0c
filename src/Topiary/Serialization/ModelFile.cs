using Topiary.Backend;
using System.Text.Json.Nodes;
using Topiary.IO;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// Topiary's model file (<c>.topiary</c>): magic "TOPIARY\0", then format version 2 (<see cref="TensorContainer"/>): a
/// JSON header naming the architecture, its <c>config</c>, free <c>metadata</c> and the tensor table; then the module's
/// whole state in <c>state_dict</c> order, every parameter and buffer (BatchNorm's running statistics,
/// <c>num_batches_tracked</c>) in its own dtype; then the pruning masks as packed bits, named <see cref="MaskPrefix"/> +
/// parameter name. Streamed both ways with 64-bit sizes (no size limit), each section checksummed. Version-1 files
/// (float32 parameters only, no buffers) still load. Every size is checked against the file's real length before
/// anything is allocated, so a damaged file gives a one-line <see cref="ModelFileException"/>.
/// </summary>
public static class ModelFile
{
    /// <summary>Prefix of the masks' names in the tensor table (<c>masks/conv1.weight</c>).</summary>
    internal const string MaskPrefix = "masks/";

    private static readonly byte[] Magic = "TOPIARY\0"u8.ToArray();
    private const string Kind = "a Topiary model file";

    /// <summary>
    /// Writes an image or language model atomically (temporary file, then rename), with the image size and class count
    /// that image models are rebuilt from. <paramref name="architectureConfig"/>, the settings an architecture needs to
    /// be rebuilt (for example the Transformers' sizes and vocabulary), is stored as the header's <c>config</c>.
    /// </summary>
    public static void Save(string path, string architecture, int imageSize, int classes, nn.Module<Tensor, Tensor> model,
        PruningMasks? masks, JsonObject? metadata = null, JsonObject? architectureConfig = null)
    {
        var header = Header(architecture, architectureConfig, metadata);
        header["image_size"] = imageSize;
        header["classes"] = classes;
        Write(path, header, model, masks);
    }

    /// <summary>
    /// Writes any module atomically: its whole state (parameters and buffers, each in its dtype), its masks and
    /// metadata, under <paramref name="architecture"/> with <paramref name="config"/>. It loads back by name once the
    /// architecture is registered (<see cref="ModelArchitectures.Register(string, Func{JsonObject, nn.Module{Tensor, Tensor}})"/>, whose factory receives
    /// <paramref name="config"/>), or into a module of the same shape (<see cref="LoadInto"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The architecture name is empty, or a tensor's dtype cannot be stored.</exception>
    public static void Save(string path, string architecture, nn.Module model, PruningMasks? masks = null, JsonObject? metadata = null, JsonObject? config = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        Write(path, Header(architecture, config, metadata), model, masks);
    }

    /// <summary>Reads and verifies a model file and rebuilds the model it describes through <see cref="ModelArchitectures"/>.</summary>
    /// <exception cref="ModelFileException">
    /// The file is missing or damaged, its architecture is not registered, or it does not match the module the
    /// architecture builds (<see cref="ModelFileException.Mismatches"/> lists how).
    /// </exception>
    public static LoadedModel Load(string path)
    {
        using var reader = Open(path);
        var header = reader.Header;
        var (imageSize, classes) = (OptionalInt(path, header, "image_size"), OptionalInt(path, header, "classes"));
        var config = header["config"] as JsonObject;
        // Image models are rebuilt from the header's own fields; every other architecture from its config.
        var factoryConfig = config ?? new JsonObject { ["image_size"] = imageSize, ["classes"] = classes };
        var model = ModelArchitectures.Create(path, Architecture(path, header), factoryConfig);
        try
        {
            return Fill(path, reader, model, verifyFirst: false);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a model file into <paramref name="module"/>, which must have the file's tensors: the same names and shapes,
    /// and the same dtypes, except that floating-point types (float32, float64, float16, bfloat16) convert into one
    /// another. Nothing is changed unless the whole file matches and its checksums hold. A version-1 file, which holds
    /// no buffers, leaves the module's buffers as they are. The result's <see cref="LoadedModel.Model"/> is
    /// <paramref name="module"/>.
    /// </summary>
    /// <exception cref="ModelFileException">
    /// The file is missing or damaged, or does not match the module: the message names the first difference,
    /// <see cref="ModelFileException.Mismatches"/> lists them all.
    /// </exception>
    public static LoadedModel LoadInto(string path, nn.Module<Tensor, Tensor> module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var reader = Open(path);
        return Fill(path, reader, module, verifyFirst: true);
    }

    private static void Write(string path, JsonObject header, nn.Module model, PruningMasks? masks)
    {
        var state = model.state_dict();
        if (state.Keys.FirstOrDefault(k => k.StartsWith(MaskPrefix, StringComparison.Ordinal)) is { } clash)
            throw new ArgumentException($"the module's tensor '{clash}' has the name prefix that the file reserves for masks", nameof(model));
        var items = state.Select(s => new TensorContainer.Item(s.Key, s.Value))
            .Concat((masks?.Entries ?? []).Select(e => new TensorContainer.Item(MaskPrefix + e.Name, e.Mask, AsBits: true)))
            .ToList();
        AtomicFile.Write(path, stream => TensorContainer.Write(stream, Magic, header, items));
    }

    private static JsonObject Header(string architecture, JsonObject? config, JsonObject? metadata)
    {
        var header = new JsonObject
        {
            ["format"] = "topiary-model",
            ["architecture"] = architecture,
            ["tool_version"] = ToolInfo.Version,
            ["metadata"] = metadata?.DeepClone() ?? new JsonObject(),
        };
        if (config is not null) header["config"] = config.DeepClone();
        return header;
    }

    private static TensorFileReader Open(string path)
    {
        Exception Error(string reason, Exception? cause) => new ModelFileException(path, reason, cause);
        return TensorContainer.OpenAnyVersion(ReadableFile.Open(path, Error), Magic, Kind, Error, ModelFileFormatV1.Open);
    }

    // Checks the whole file against the module, then copies the state in and reads the masks.
    private static LoadedModel Fill(string path, TensorFileReader reader, nn.Module<Tensor, Tensor> module, bool verifyFirst)
    {
        // A version-1 file holds the parameters only; the module's buffers keep the values it was built with.
        var target = reader.Version >= TensorContainer.Version
            ? module.state_dict()
            : module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var state = reader.Entries.Where(e => !e.Name.StartsWith(MaskPrefix, StringComparison.Ordinal)).ToList();
        var masks = reader.Entries.Where(e => e.Name.StartsWith(MaskPrefix, StringComparison.Ordinal)).ToList();
        var mismatches = ModuleStateMatch.Compare(target, state.Select(e => new ModuleStateMatch.Stored(e.Name, e.Type.Type, e.Shape)));
        foreach (var mask in masks)
        {
            var name = mask.Name[MaskPrefix.Length..];
            if (!target.TryGetValue(name, out var masked)) mismatches.Add($"the mask of '{name}' names no tensor of the module");
            else if (!mask.Shape.SequenceEqual(masked.shape))
                mismatches.Add($"the mask of '{name}' has shape {ModuleStateMatch.Text(mask.Shape)} but the tensor {ModuleStateMatch.Text(masked.shape)}");
        }
        if (mismatches.Count > 0)
        {
            var more = mismatches.Count > 1 ? $" (and {mismatches.Count - 1} more)" : "";
            throw new ModelFileException(path, $"does not match the module: {mismatches[0]}{more}") { Mismatches = mismatches };
        }
        if (verifyFirst) reader.VerifyAll();

        using (no_grad())
        {
            foreach (var entry in state)
            {
                using var values = reader.Read(entry);
                target[entry.Name].copy_(values);
            }
        }
        var loadedMasks = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in masks)
            {
                using var bits = reader.Read(entry);
                loadedMasks[entry.Name[MaskPrefix.Length..]] = bits.to(float32).DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var t in loadedMasks.Values) t.Dispose();
            throw;
        }
        var header = reader.Header;
        return new LoadedModel(Architecture(path, header), OptionalInt(path, header, "image_size"), OptionalInt(path, header, "classes"), module,
            loadedMasks, Detach(header, "metadata") ?? new JsonObject())
        {
            ArchitectureConfig = Detach(header, "config"),
        };
    }

    private static JsonObject? Detach(JsonObject header, string key) => header.Remove(key, out var node) ? node as JsonObject : null;

    private static string Architecture(string path, JsonObject header)
    {
        try
        {
            return header["architecture"]?.GetValue<string>() ?? throw new ModelFileException(path, "header field 'architecture' is missing");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ModelFileException(path, "header field 'architecture' has the wrong type", e);
        }
    }

    private static int OptionalInt(string path, JsonObject header, string key)
    {
        try
        {
            return header[key]?.GetValue<int>() ?? 0;
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"header field '{key}' has the wrong type", e);
        }
    }
}
