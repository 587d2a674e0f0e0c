using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// Version 2 of Topiary's checkpoint and model files, one layout for both, streamed in either direction:
/// <code>
/// magic (8 bytes) | version = 2 (int32) | header length N (uint32) | header (N bytes of UTF-8 JSON) | CRC-32 of all before it
/// then for each tensor of the header's table, in order: its bytes | CRC-32 of those bytes
/// </code>
/// All integers are little-endian. The header is the caller's JSON plus <c>tensors</c>, a list of
/// <c>{"name", "dtype", "shape"}</c>: dtype one of <see cref="StoredType"/>'s names, each tensor's bytes its elements
/// in row-major order in that type, 64-bit sizes throughout, no limit but the disk's. The checksums are per section
/// so that a reader makes one pass: the header is verified before anything is allocated from it, and each tensor as
/// it is read (a damaged tensor is named), with nothing held but the tensor itself.
/// </summary>
internal static class TensorContainer
{
    /// <summary>The version this layout is.</summary>
    public const int Version = 2;

    private const int MaxHeaderBytes = 64 << 20;
    private const int PreambleBytes = 16;

    /// <summary>One tensor to write, as bits when <paramref name="AsBits"/> (masks: non-zero is 1).</summary>
    public sealed record Item(string Name, Tensor Tensor, bool AsBits = false);

    /// <summary>The header bytes and the exact size of the file <see cref="Write"/> will produce.</summary>
    public static (byte[] Header, long FileBytes) Layout(JsonObject header, IReadOnlyList<Item> items)
    {
        var table = new JsonArray();
        long data = 0;
        foreach (var item in items)
        {
            var type = item.AsBits ? StoredType.Bit : StoredType.Of(item.Tensor.dtype);
            table.Add(new JsonObject
            {
                ["name"] = item.Name,
                ["dtype"] = type.Name,
                ["shape"] = new JsonArray(item.Tensor.shape.Select(d => (JsonNode)d).ToArray()),
            });
            data += type.ByteCount(item.Tensor.numel()) + 4;
        }
        var full = (JsonObject)header.DeepClone();
        full["tensors"] = table;
        var bytes = Encoding.UTF8.GetBytes(full.ToJsonString());
        if (bytes.Length > MaxHeaderBytes) throw new ArgumentException($"a header of {bytes.Length} bytes is larger than the format's {MaxHeaderBytes}");
        return (bytes, PreambleBytes + bytes.Length + 4 + data);
    }

    /// <summary>Writes the file to <paramref name="stream"/>; <paramref name="header"/> is the caller's JSON, without the table.</summary>
    /// <exception cref="ArgumentException">A tensor of a type the format does not hold, or a duplicate name.</exception>
    public static void Write(Stream stream, ReadOnlySpan<byte> magic, JsonObject header, IReadOnlyList<Item> items)
    {
        RequireLittleEndian();
        if (items.Select(i => i.Name).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"tensor '{twice.Key}' is given twice", nameof(items));
        var (headerBytes, _) = Layout(header, items);
        Span<byte> preamble = stackalloc byte[PreambleBytes];
        magic.CopyTo(preamble);
        BinaryPrimitives.WriteInt32LittleEndian(preamble[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(preamble[12..], (uint)headerBytes.Length);
        var checksum = new Crc32();
        checksum.Append(preamble);
        checksum.Append(headerBytes);
        stream.Write(preamble);
        stream.Write(headerBytes);
        WriteChecksum(stream, checksum);
        foreach (var item in items)
        {
            checksum = new Crc32();
            if (item.AsBits) TensorBytes.WriteBits(stream, item.Tensor, checksum);
            else TensorBytes.Write(stream, item.Tensor, checksum);
            WriteChecksum(stream, checksum);
        }
    }

    /// <summary>
    /// Checks the magic bytes and returns the format version, leaving the rest to the version's reader.
    /// <paramref name="kind"/> names the format in errors ("a Topiary checkpoint").
    /// </summary>
    private static int ReadVersion(Stream stream, long length, ReadOnlySpan<byte> magic, string kind, Func<string, Exception?, Exception> error)
    {
        RequireLittleEndian();
        if (length < PreambleBytes + 4) throw error($"truncated: {length} bytes is shorter than {kind}", null);
        Span<byte> start = stackalloc byte[12];
        stream.Position = 0;
        stream.ReadExactly(start);
        if (!start[..8].SequenceEqual(magic)) throw error($"not {kind} (wrong magic bytes)", null);
        return BinaryPrimitives.ReadInt32LittleEndian(start[8..]);
    }

    /// <summary>
    /// Opens a file of this layout or of version 1 (through <paramref name="openVersion1"/>, the format's own reader);
    /// any other version, and a failed read, is the reader's error. The reader owns the stream; on failure it is closed.
    /// </summary>
    public static TensorFileReader OpenAnyVersion(Stream stream, ReadOnlySpan<byte> magic, string kind, Func<string, Exception?, Exception> error,
        Func<Stream, long, Func<string, Exception?, Exception>, TensorFileReader> openVersion1)
    {
        try
        {
            var length = stream.Length;
            var version = ReadVersion(stream, length, magic, kind, error);
            return version switch
            {
                Version => Open(stream, length, error),
                1 => openVersion1(stream, length, error),
                _ => throw error($"format version {version} is not supported (this Topiary reads versions 1 and {Version})", null),
            };
        }
        catch (Exception e)
        {
            stream.Dispose();
            if (e is IOException) throw error($"cannot read: {e.Message}", e);
            throw;
        }
    }

    /// <summary>Opens a version-2 file: verifies the header's checksum, parses it and places every tensor inside the file.</summary>
    public static TensorFileReader Open(Stream stream, long length, Func<string, Exception?, Exception> error)
    {
        Span<byte> lengthField = stackalloc byte[4];
        stream.Position = 12;
        stream.ReadExactly(lengthField);
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(lengthField);
        if (headerLength == 0 || headerLength > MaxHeaderBytes || headerLength > length - PreambleBytes - 4)
            throw error($"header length {headerLength} does not fit in the file", null);

        var covered = new byte[PreambleBytes + headerLength + 4];
        stream.Position = 0;
        stream.ReadExactly(covered);
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(covered.AsSpan(covered.Length - 4));
        if (Crc32.Compute(covered.AsSpan(0, covered.Length - 4)) != stored) throw error("the header is damaged (checksum mismatch)", null);
        var header = ParseHeader(covered.AsSpan(PreambleBytes, (int)headerLength), error);
        var table = header["tensors"] as JsonArray ?? throw error("header has no 'tensors' list", null);

        var entries = new List<TensorEntry>();
        var names = new HashSet<string>();
        long offset = covered.Length;
        for (var i = 0; i < table.Count; i++)
        {
            var entry = TensorTable.Entry(table, i, error);
            var name = TensorTable.ReadString(entry, "name", i, error);
            var typeName = TensorTable.ReadString(entry, "dtype", i, error);
            var type = StoredType.FromName(typeName) ?? throw error($"tensor '{name}' has an unknown dtype '{typeName}'", null);
            var shape = TensorTable.ReadShape(entry, name, error);
            if (!names.Add(name)) throw error($"tensor '{name}' appears twice", null);
            var bytes = TensorTable.ByteLength(name, shape, type, Math.Max(0, length - offset - 4), error);
            if (offset + bytes + 4 > length) throw error($"tensor '{name}' runs past the end of the file", null);
            entries.Add(new TensorEntry(name, type, shape, offset, bytes, Checksummed: true));
            offset += bytes + 4;
        }
        if (offset != length) throw error($"size mismatch: the header describes {offset} bytes but the file holds {length}", null);
        return new TensorFileReader(stream, Version, header, entries, error);
    }

    /// <summary>Parses a header as a JSON object, any failure as the reader's error.</summary>
    public static JsonObject ParseHeader(ReadOnlySpan<byte> json, Func<string, Exception?, Exception> error)
    {
        try
        {
            var header = JsonNode.Parse(json) as JsonObject ?? throw error("header is not a JSON object", null);
            Decode(header);
            return header;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw error($"header is not valid JSON: {e.Message.Split('\n')[0]}", e);
        }
    }

    // System.Text.Json decodes names and strings when they are first read, and throws then on invalid UTF-8 or a lone
    // surrogate: everything is read here, once, so that no later lookup of a damaged header throws.
    private static void Decode(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o) Decode(value);
                break;
            case JsonArray a:
                foreach (var item in a) Decode(item);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                v.GetValue<string>();
                break;
        }
    }

    private static void WriteChecksum(Stream stream, Crc32 checksum)
    {
        Span<byte> value = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, checksum.GetCurrentHashAsUInt32());
        stream.Write(value);
    }

    // Tensor bytes go to and from disk as they lie in memory; the format is little-endian.
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Topiary's files are little-endian; this machine is not");
    }
}
