using System.Buffers.Binary;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// An opened Topiary file (checkpoint or model file, any version) whose header has been read and checked, every
/// tensor's place in the file computed and found to lie inside it. Tensors are read one at a time, on demand, into
/// new libtorch memory; a checksummed tensor is verified as it is read. Owns the stream.
/// </summary>
internal sealed class TensorFileReader : IDisposable
{
    private readonly Stream stream;
    private readonly Func<string, Exception?, Exception> error;

    /// <summary>Takes a stream whose <paramref name="entries"/> were checked against its length.</summary>
    public TensorFileReader(Stream stream, int version, JsonObject header, IReadOnlyList<TensorEntry> entries, Func<string, Exception?, Exception> error)
    {
        this.stream = stream;
        this.error = error;
        Version = version;
        Header = header;
        Entries = entries;
    }

    /// <summary>The format version of the file.</summary>
    public int Version { get; }

    /// <summary>The JSON header (with its tensor table).</summary>
    public JsonObject Header { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<TensorEntry> Entries { get; }

    /// <summary>Reads one tensor into new memory owned by the caller, in its stored type (<c>bit</c> as bool).</summary>
    /// <exception cref="Exception">The reader's own exception when the bytes are damaged or unreadable.</exception>
    public Tensor Read(TensorEntry entry)
    {
        var checksum = entry.Checksummed ? new Crc32() : null;
        Tensor? tensor = null;
        try
        {
            stream.Position = entry.Offset;
            tensor = TensorBytes.Read(stream, entry.Type, entry.Shape, checksum);
            if (checksum is not null && ReadStoredChecksum() != checksum.GetCurrentHashAsUInt32())
                throw error($"tensor '{entry.Name}' is damaged (checksum mismatch)", null);
            return tensor;
        }
        catch (Exception e)
        {
            tensor?.Dispose();
            if (e is IOException or InvalidDataException) throw error($"tensor '{entry.Name}': {e.Message}", e);
            throw;
        }
    }

    /// <summary>
    /// Checks every checksummed tensor without keeping it, so that a caller can refuse a damaged file before it changes
    /// anything. Streams through a small buffer.
    /// </summary>
    public void VerifyAll()
    {
        var buffer = new byte[1 << 20];
        try
        {
            foreach (var entry in Entries.Where(e => e.Checksummed))
            {
                var checksum = new Crc32();
                stream.Position = entry.Offset;
                for (var left = entry.ByteLength; left > 0;)
                {
                    var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (read == 0) throw new EndOfStreamException("the file ends early");
                    checksum.Append(buffer.AsSpan(0, read));
                    left -= read;
                }
                if (ReadStoredChecksum() != checksum.GetCurrentHashAsUInt32())
                    throw error($"tensor '{entry.Name}' is damaged (checksum mismatch)", null);
            }
        }
        catch (IOException e)
        {
            throw error($"cannot read: {e.Message}", e);
        }
    }

    private uint ReadStoredChecksum()
    {
        Span<byte> stored = stackalloc byte[4];
        stream.ReadExactly(stored);
        return BinaryPrimitives.ReadUInt32LittleEndian(stored);
    }

    /// <inheritdoc />
    public void Dispose() => stream.Dispose();
}
