using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.IO;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>The contents of a model file: the rebuilt model, its pruning masks by parameter name and free metadata.</summary>
public sealed record LoadedModel(string Architecture, int ImageSize, int Classes, nn.Module<Tensor, Tensor> Model,
    IReadOnlyDictionary<string, Tensor> Masks, JsonObject Metadata)
{
    /// <summary>The architecture's own settings from the header (the Transformer's sizes and vocabulary); null for image models.</summary>
    public JsonObject? ArchitectureConfig { get; init; }

    /// <summary>Multiplies every masked parameter by its mask, so that pruned weights are exact zeros.</summary>
    public void ApplyMasks()
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in Model.named_parameters())
            if (Masks.TryGetValue(name, out var mask)) parameter.mul_(mask);
    }
}

/// <summary>
/// Topiary's model file (<c>.topiary</c>): magic "TOPIARY\0", format version, a JSON header naming the
/// architecture and every tensor, the float32 little-endian parameter data, the pruning masks as
/// packed bits, and a CRC-32 of everything before it. Every size is checked against the file's real
/// length before anything is allocated, so a damaged file gives a <see cref="ModelFileException"/>.
/// </summary>
public static class ModelFile
{
    private static readonly byte[] Magic = "TOPIARY\0"u8.ToArray();
    private const int FormatVersion = 1;
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>
    /// Writes the model atomically (temporary file, then rename). <paramref name="architectureConfig"/>,
    /// the settings an architecture needs to be rebuilt (see <see cref="LanguageModelFile"/>), is stored
    /// as the header's <c>config</c>.
    /// </summary>
    public static void Save(string path, string architecture, int imageSize, int classes, nn.Module<Tensor, Tensor> model,
        PruningMasks? masks, JsonObject? metadata = null, JsonObject? architectureConfig = null)
    {
        var maskByName = masks?.Entries.ToDictionary(e => e.Name, e => e.Mask) ?? new Dictionary<string, Tensor>();
        var parameters = model.named_parameters().ToList();
        var header = new JsonObject
        {
            ["architecture"] = architecture,
            ["image_size"] = imageSize,
            ["classes"] = classes,
            ["tool_version"] = ToolInfo.Version,
            ["metadata"] = metadata?.DeepClone() ?? new JsonObject(),
            ["tensors"] = new JsonArray(parameters.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.name,
                ["shape"] = new JsonArray(p.parameter.shape.Select(d => (JsonNode)d).ToArray()),
                ["masked"] = maskByName.ContainsKey(p.name),
            }).ToArray()),
        };
        if (architectureConfig is not null) header["config"] = architectureConfig.DeepClone();
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        WriteInt32(buffer, FormatVersion);
        WriteInt32(buffer, headerBytes.Length);
        buffer.Write(headerBytes);
        foreach (var (_, parameter) in parameters)
        {
            using var cpu = parameter.detach().to(float32).cpu().contiguous();
            buffer.Write(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()));
        }
        foreach (var (name, _) in parameters)
            if (maskByName.TryGetValue(name, out var mask)) buffer.Write(PackBits(mask));
        var crc = Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        WriteInt32(buffer, unchecked((int)crc));
        AtomicFile.WriteAllBytes(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>
    /// <see cref="Load"/> for what only the catalog's image models support (sequential export, simplify, Lipschitz
    /// analysis, Net-Trim): a Transformer file is refused by name rather than failing later on its shape.
    /// </summary>
    /// <exception cref="ModelFileException">As <see cref="Load"/>, or the file holds a Transformer.</exception>
    public static LoadedModel LoadImageModel(string path)
    {
        var loaded = Load(path);
        if (ModelCatalog.Names.Contains(loaded.Architecture)) return loaded;
        loaded.Model.Dispose();
        throw new ModelFileException(path, $"holds a {loaded.Architecture} model; only the image models ({string.Join(", ", ModelCatalog.Names)}) apply here");
    }

    /// <summary>Reads and verifies a model file and rebuilds the model it describes.</summary>
    /// <exception cref="ModelFileException">The file is missing, damaged, or does not match its architecture.</exception>
    public static LoadedModel Load(string path)
    {
        var bytes = BoundedFile.ReadAllBytes(path, int.MaxValue - 64, "a Topiary model file", (reason, cause) => new ModelFileException(path, reason, cause));
        return Parse(path, bytes);
    }

    private static LoadedModel Parse(string path, byte[] bytes)
    {
        var minimum = Magic.Length + 12;
        if (bytes.Length < minimum) throw new ModelFileException(path, $"truncated: {bytes.Length} bytes is shorter than any model file");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw new ModelFileException(path, "not a Topiary model file (wrong magic bytes)");
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length));
        if (version != FormatVersion) throw new ModelFileException(path, $"format version {version} is not supported (this Topiary reads version {FormatVersion})");
        var storedCrc = (uint)BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)) != storedCrc) throw new ModelFileException(path, "checksum mismatch: the file is damaged or truncated");

        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length + 4));
        var offset = Magic.Length + 8;
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > bytes.Length - offset - 4)
            throw new ModelFileException(path, $"header length {headerLength} does not fit in the file");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(offset, headerLength))?.AsObject() ?? throw new ModelFileException(path, "empty header");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"header is not valid JSON: {e.Message.Split('\n')[0]}", e);
        }
        offset += headerLength;

        var architecture = Read<string>(path, header, "architecture");
        var imageSize = Read<int>(path, header, "image_size");
        var classes = Read<int>(path, header, "classes");
        var architectureConfig = header["config"] as JsonObject;
        nn.Module<Tensor, Tensor> model;
        if (architecture is TransformerLanguageModel.ArchitectureName or TransformerTranslationModel.ArchitectureName)
        {
            model = LanguageModelFile.Build(path, architecture, architectureConfig);
        }
        else
        {
            if (!ModelCatalog.Names.Contains(architecture)) throw new ModelFileException(path, $"unknown architecture '{architecture}'");
            if (imageSize is < 16 or > 4096 || classes is < 2 or > 100_000) throw new ModelFileException(path, $"implausible image size {imageSize} or class count {classes}");
            model = ModelCatalog.Create(architecture, imageSize, classes);
        }
        var parameters = model.named_parameters().ToList();
        var described = header["tensors"] as JsonArray ?? throw new ModelFileException(path, "header has no tensor list");
        if (described.Count != parameters.Count) throw new ModelFileException(path, $"header lists {described.Count} tensors but {architecture} has {parameters.Count}");

        var masked = new List<(string Name, long[] Shape)>();
        long dataBytes = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            var entry = described[i] as JsonObject ?? throw new ModelFileException(path, $"tensor entry {i} is not an object");
            var name = Read<string>(path, entry, "name");
            var shape = (entry["shape"] as JsonArray)?.Select(d => d?.GetValue<long>() ?? -1).ToArray() ?? Array.Empty<long>();
            if (name != parameters[i].name || !shape.SequenceEqual(parameters[i].parameter.shape))
                throw new ModelFileException(path, $"tensor {i} is '{name}' [{string.Join(",", shape)}] but {architecture} expects '{parameters[i].name}' [{string.Join(",", parameters[i].parameter.shape)}]");
            dataBytes += parameters[i].parameter.numel() * 4;
            if (Read<bool>(path, entry, "masked")) masked.Add((name, shape));
        }
        var maskBytes = masked.Sum(m => (m.Shape.Aggregate(1L, (a, b) => a * b) + 7) / 8);
        if (offset + dataBytes + maskBytes + 4 != bytes.Length)
            throw new ModelFileException(path, $"size mismatch: the header describes {offset + dataBytes + maskBytes + 4} bytes but the file holds {bytes.Length}");

        using (no_grad())
        {
            foreach (var (_, parameter) in parameters)
            {
                var count = (int)parameter.numel();
                var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset, count * 4)).ToArray();
                using var source = tensor(values).reshape(parameter.shape);
                parameter.copy_(source);
                offset += count * 4;
            }
        }
        var masks = new Dictionary<string, Tensor>();
        foreach (var (name, shape) in masked)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            masks[name] = UnpackBits(bytes.AsSpan(offset, (int)((count + 7) / 8)), count).reshape(shape);
            offset += (int)((count + 7) / 8);
        }
        return new LoadedModel(architecture, imageSize, classes, model, masks, header["metadata"] as JsonObject ?? new JsonObject())
        {
            ArchitectureConfig = architectureConfig,
        };
    }

    private static T Read<T>(string path, JsonObject node, string key)
    {
        try
        {
            return node[key] is { } value ? value.GetValue<T>() : throw new ModelFileException(path, $"header field '{key}' is missing");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"header field '{key}' has the wrong type", e);
        }
    }

    private static byte[] PackBits(Tensor mask)
    {
        using var flat = mask.detach().flatten().ne(0).cpu();
        var values = flat.data<bool>().ToArray();
        var packed = new byte[(values.Length + 7) / 8];
        for (var i = 0; i < values.Length; i++)
            if (values[i]) packed[i >> 3] |= (byte)(1 << (i & 7));
        return packed;
    }

    private static Tensor UnpackBits(ReadOnlySpan<byte> packed, long count)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (packed[i >> 3] >> (i & 7) & 1) != 0 ? 1f : 0f;
        return OwnedTensors.Copy(values, count);
    }

    private static void WriteInt32(Stream stream, int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        stream.Write(b);
    }
}
