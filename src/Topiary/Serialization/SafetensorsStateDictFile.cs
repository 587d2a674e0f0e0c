using Topiary.Backend;
using System.Buffers.Binary;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// A safetensors file: an unsigned 64-bit little-endian header length N, N bytes of JSON mapping each name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (and an optional <c>__metadata__</c>), then the data, each
/// tensor's bytes at [begin, end) of it. Every entry is checked against the data's real length before anything is read.
/// </summary>
internal sealed class SafetensorsStateDictFile : StateDictSource
{
    private const long MaxHeaderBytes = 100 << 20;

    private static readonly Dictionary<string, StoredType> Types = new()
    {
        ["F32"] = StoredType.FromName("float32")!, ["F64"] = StoredType.FromName("float64")!, ["F16"] = StoredType.FromName("float16")!,
        ["BF16"] = StoredType.FromName("bfloat16")!, ["I64"] = StoredType.FromName("int64")!, ["I32"] = StoredType.FromName("int32")!,
        ["I16"] = StoredType.FromName("int16")!, ["I8"] = StoredType.FromName("int8")!, ["U8"] = StoredType.FromName("uint8")!,
        ["BOOL"] = StoredType.FromName("bool")!,
    };

    private readonly Stream stream;
    private readonly Func<string, Exception?, Exception> error;
    private readonly List<TensorEntry> entries = [];

    /// <summary>Reads and checks the header of the safetensors file in <paramref name="stream"/>, which it then owns.</summary>
    public SafetensorsStateDictFile(Stream stream, Func<string, Exception?, Exception> error)
    {
        this.stream = stream;
        this.error = error;
        var length = stream.Length;
        Span<byte> field = stackalloc byte[8];
        stream.ReadExactly(field);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(field);
        if (headerLength < 2 || headerLength > (ulong)Math.Min(MaxHeaderBytes, length - 8))
            throw error($"safetensors header length {headerLength} does not fit in the file", null);
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        var header = TensorContainer.ParseHeader(json, error);
        var dataStart = 8 + (long)headerLength;
        var dataLength = length - dataStart;
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            if (node is not JsonObject entry) throw error($"tensor '{name}' is not described by an object", null);
            var typeName = TensorTable.ReadString(entry, "dtype", entries.Count, error);
            var type = Types.GetValueOrDefault(typeName) ?? throw error($"tensor '{name}' has dtype {typeName}, which Topiary does not read", null);
            var shape = TensorTable.ReadShape(entry, name, error);
            var (begin, end) = Offsets(entry, name, dataLength);
            var bytes = TensorTable.ByteLength(name, shape, type, dataLength, error);
            if (end - begin != bytes) throw error($"tensor '{name}' of shape {ModuleStateMatch.Text(shape)} takes {bytes} bytes but its offsets span {end - begin}", null);
            entries.Add(new TensorEntry(name, type, shape, dataStart + begin, bytes, Checksummed: false));
        }
        Entries = entries.Select(e => new ModuleStateMatch.Stored(e.Name, e.Type.Type, e.Shape)).ToList();
    }

    /// <inheritdoc />
    public override IReadOnlyList<ModuleStateMatch.Stored> Entries { get; }

    /// <inheritdoc />
    public override Dictionary<string, Tensor> Read(Func<string, bool> wanted)
    {
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in entries.Where(e => wanted(e.Name)))
            {
                stream.Position = entry.Offset;
                result[entry.Name] = TensorBytes.Read(stream, entry.Type, entry.Shape, checksum: null);
            }
            return result;
        }
        catch (Exception e)
        {
            foreach (var t in result.Values) t.Dispose();
            if (e is IOException or InvalidDataException) throw error($"cannot read the data: {e.Message}", e);
            throw;
        }
    }

    /// <inheritdoc />
    public override void Dispose() => stream.Dispose();

    private (long Begin, long End) Offsets(JsonObject entry, string name, long dataLength)
    {
        long[] offsets;
        try
        {
            offsets = (entry["data_offsets"] as JsonArray)?.Select(o => o?.GetValue<long>() ?? -1).ToArray() ?? [];
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw error($"tensor '{name}' has data offsets that are not integers", e);
        }
        if (offsets is not [var begin, var end] || begin < 0 || end < begin || end > dataLength)
            throw error($"tensor '{name}' has data offsets outside the file's {dataLength} bytes of data", null);
        return (begin, end);
    }
}
