using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Topiary.Serialization;

/// <summary>
/// What version-1 checkpoints and model files share: magic, int32 version, int32 header length, a JSON header with a
/// <c>tensors</c> table, float32 tensors one after the other in table order (then, in model files, the masks), and
/// a CRC-32 of everything before it in the last four bytes. The checksum is verified in one streaming pass through a
/// small buffer before the header is trusted.
/// </summary>
internal static class FormatV1Layout
{
    /// <summary>One float32 tensor of the table, placed in the file, and its table entry.</summary>
    public sealed record Placed(TensorEntry Entry, JsonObject Json);

    /// <summary>
    /// Verifies the checksum and reads the header, then places the table's float32 tensors one after the other from
    /// the end of the header; returns them and the offset after the last. Nothing is allocated from the table.
    /// </summary>
    public static (JsonObject Header, List<Placed> Tensors, long End) Open(Stream stream, long length, int maxHeaderBytes, Func<string, Exception?, Exception> error)
    {
        if (!ChecksumMatches(stream, length)) throw error("checksum mismatch: the file is damaged or truncated", null);
        var header = ReadHeader(stream, length, maxHeaderBytes, error);
        var table = header["tensors"] as JsonArray ?? throw error("header has no 'tensors' list", null);
        var float32 = StoredType.FromName("float32")!;
        var placed = new List<Placed>();
        var names = new HashSet<string>();
        var offset = stream.Position;
        var end = length - 4;
        for (var i = 0; i < table.Count; i++)
        {
            var entry = TensorTable.Entry(table, i, error);
            var name = TensorTable.ReadString(entry, "name", i, error);
            var shape = TensorTable.ReadShape(entry, name, error);
            if (!names.Add(name)) throw error($"tensor '{name}' appears twice", null);
            var bytes = TensorTable.ByteLength(name, shape, float32, end - offset, error);
            if (offset + bytes > end) throw error($"tensor '{name}' runs past the end of the file", null);
            placed.Add(new Placed(new TensorEntry(name, float32, shape, offset, bytes, Checksummed: false), entry));
            offset += bytes;
        }
        return (header, placed, offset);
    }

    private static bool ChecksumMatches(Stream stream, long length)
    {
        var buffer = new byte[1 << 20];
        var checksum = new Crc32();
        stream.Position = 0;
        for (var left = length - 4; left > 0;)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) throw new EndOfStreamException("the file ends early");
            checksum.Append(buffer.AsSpan(0, read));
            left -= read;
        }
        Span<byte> stored = stackalloc byte[4];
        stream.ReadExactly(stored);
        return BinaryPrimitives.ReadUInt32LittleEndian(stored) == checksum.GetCurrentHashAsUInt32();
    }

    private static JsonObject ReadHeader(Stream stream, long length, int maxHeaderBytes, Func<string, Exception?, Exception> error)
    {
        Span<byte> field = stackalloc byte[4];
        stream.Position = 12;
        stream.ReadExactly(field);
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(field);
        if (headerLength <= 0 || headerLength > maxHeaderBytes || headerLength > length - 16 - 4)
            throw error($"header length {headerLength} does not fit in the file", null);
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        return TensorContainer.ParseHeader(json, error);
    }
}
