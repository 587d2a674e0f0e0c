using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.IO;
using Topiary.Serialization;
using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Checkpoints;

/// <summary>
/// The container of a training checkpoint (<c>.ckpt</c>): magic "TOPCKPT\0", format version, a JSON
/// header (free state plus a table of named float32 tensors), the tensors' little-endian data in table
/// order, and a CRC-32 of everything before it. The reader trusts nothing: the checksum is verified
/// first, and every size in the header is checked against the bytes actually present before anything
/// is allocated from it, so damage surfaces as a one-line <see cref="CheckpointException"/>.
/// </summary>
public static class CheckpointFile
{
    private static readonly byte[] Magic = "TOPCKPT\0"u8.ToArray();
    private const int FormatVersion = 1;
    private const int MaxHeaderBytes = 16 << 20;
    private const int MaxDimensions = 8;

    // The whole file is read into one array, so the format cannot exceed what an array can hold.
    private const long MaxFileBytes = int.MaxValue - 64;

    /// <summary>Encodes <paramref name="state"/> and <paramref name="tensors"/> (converted to float32).</summary>
    public static byte[] Serialize(JsonObject state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var table = new JsonArray();
        foreach (var (name, t) in tensors)
            table.Add(new JsonObject { ["name"] = name, ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()) });
        var header = Encoding.UTF8.GetBytes(new JsonObject { ["state"] = state.DeepClone(), ["tensors"] = table }.ToJsonString());

        // Sized up front: checkpoints are megabytes, and a growing stream would copy them repeatedly.
        var dataBytes = tensors.Values.Sum(t => t.numel() * 4L);
        var total = Magic.Length + 8 + header.Length + dataBytes + 4;
        if (total > MaxFileBytes) throw new ArgumentException($"a checkpoint of {total} bytes is larger than the format allows", nameof(tensors));
        using var buffer = new MemoryStream((int)total);
        buffer.Write(Magic);
        WriteInt32(buffer, FormatVersion);
        WriteInt32(buffer, header.Length);
        buffer.Write(header);
        foreach (var t in tensors.Values)
        {
            using var cpu = t.detach().to(float32).cpu().contiguous();
            buffer.Write(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()));
        }
        WriteInt32(buffer, unchecked((int)Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length))));
        return buffer.GetBuffer();
    }

    /// <summary>Writes an encoded checkpoint atomically (temporary file, flush to disk, rename).</summary>
    public static void Write(string path, byte[] encoded) => AtomicFile.WriteAllBytes(path, encoded);

    /// <summary>Reads and verifies a checkpoint file.</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable or damaged.</exception>
    public static (JsonObject State, Dictionary<string, Tensor> Tensors) Read(string path)
    {
        var bytes = BoundedFile.ReadAllBytes(path, MaxFileBytes, "a checkpoint", (reason, cause) => new CheckpointException(path, reason, cause));
        return Parse(path, bytes);
    }

    /// <summary>Decodes a checkpoint held in memory; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">The bytes are not a valid checkpoint.</exception>
    public static (JsonObject State, Dictionary<string, Tensor> Tensors) Parse(string source, byte[] bytes)
    {
        var prefix = Magic.Length + 8;
        if (bytes.Length < prefix + 4) throw new CheckpointException(source, $"truncated: {bytes.Length} bytes is shorter than any checkpoint");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw new CheckpointException(source, "not a Topiary checkpoint (wrong magic bytes)");
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length));
        if (version != FormatVersion) throw new CheckpointException(source, $"format version {version} is not supported (this Topiary reads version {FormatVersion})");
        var storedCrc = (uint)BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)) != storedCrc) throw new CheckpointException(source, "checksum mismatch: the file is damaged or truncated");

        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length + 4));
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > bytes.Length - prefix - 4)
            throw new CheckpointException(source, $"header length {headerLength} does not fit in the file");
        var header = ParseHeader(source, bytes.AsSpan(prefix, headerLength));
        var state = header["state"] as JsonObject ?? throw new CheckpointException(source, "header has no 'state' object");
        var table = header["tensors"] as JsonArray ?? throw new CheckpointException(source, "header has no 'tensors' list");

        // Sizes first, against the bytes that are really there; allocation only after all of them fit.
        var dataStart = (long)prefix + headerLength;
        var available = bytes.Length - 4 - dataStart;
        var entries = new List<(string Name, long[] Shape, long Count)>();
        long needed = 0;
        for (var i = 0; i < table.Count; i++)
        {
            var entry = table[i] as JsonObject ?? throw new CheckpointException(source, $"tensor entry {i} is not an object");
            var name = ReadString(source, entry, "name", i);
            var shape = ReadShape(source, entry, name);
            var count = ElementCount(source, name, shape, available);
            needed += count * 4;
            if (needed > available) throw new CheckpointException(source, $"tensor '{name}' runs past the end of the file");
            if (entries.Any(e => e.Name == name)) throw new CheckpointException(source, $"tensor '{name}' appears twice");
            entries.Add((name, shape, count));
        }
        if (needed != available)
            throw new CheckpointException(source, $"size mismatch: the header describes {dataStart + needed + 4} bytes but the file holds {bytes.Length}");

        var tensors = new Dictionary<string, Tensor>();
        var offset = (int)dataStart;
        foreach (var (name, shape, count) in entries)
        {
            var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset, (int)(count * 4))).ToArray();
            tensors[name] = OwnedTensors.Copy(values, shape).DetachFromDisposeScope();
            offset += (int)(count * 4);
        }
        return (state, tensors);
    }

    private static JsonObject ParseHeader(string source, ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new CheckpointException(source, "header is not a JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new CheckpointException(source, $"header is not valid JSON: {e.Message.Split('\n')[0]}", e);
        }
    }

    private static string ReadString(string source, JsonObject entry, string key, int index)
    {
        try
        {
            return entry[key]?.GetValue<string>() ?? throw new CheckpointException(source, $"tensor entry {index} has no '{key}'");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new CheckpointException(source, $"tensor entry {index}: '{key}' is not a string", e);
        }
    }

    private static long[] ReadShape(string source, JsonObject entry, string name)
    {
        if (entry["shape"] is not JsonArray dims || dims.Count > MaxDimensions)
            throw new CheckpointException(source, $"tensor '{name}' has no valid shape (a list of at most {MaxDimensions} sizes)");
        try
        {
            return dims.Select(d => d?.GetValue<long>() ?? -1).ToArray();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new CheckpointException(source, $"tensor '{name}' has a size that is not an integer", e);
        }
    }

    // The product is checked step by step against what the file holds, so a forged 2^31 × 2^31 never overflows.
    private static long ElementCount(string source, string name, long[] shape, long availableBytes)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new CheckpointException(source, $"tensor '{name}' has a negative size {d}");
            if (d != 0 && count > availableBytes / 4 / d)
                throw new CheckpointException(source, $"tensor '{name}' of shape [{string.Join(",", shape)}] is larger than the file");
            count *= d;
        }
        return count;
    }

    private static void WriteInt32(Stream stream, int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        stream.Write(b);
    }
}
