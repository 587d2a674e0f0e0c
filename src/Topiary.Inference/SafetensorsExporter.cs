using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Topiary.IO;

namespace Topiary.Inference;

/// <summary>
/// Writes a network's parameters as a PyTorch state dict in the safetensors format (8-byte little-endian header
/// length, a JSON header mapping each name to dtype F32, shape and [begin, end) byte offsets, then the raw
/// little-endian data), with PyTorch's names (<c>conv1.weight</c>, <c>fc1.bias</c>, …). In Python:
/// <c>model.load_state_dict(safetensors.torch.load_file(path))</c>. Pruned entries are stored as zeros. For a user's
/// <c>nn.Sequential</c> the names are the Sequential's own and folded BatchNorm layers have no entries, as in
/// <see cref="PyTorchExporter"/>.
/// </summary>
public static class SafetensorsExporter
{
    /// <summary>Writes the file atomically.</summary>
    public static void Save(string path, SequentialNetwork network, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        long offset = 0;
        var parameters = network.Parameters().ToList();
        foreach (var (name, shape, values) in parameters)
        {
            var end = offset + values.Length * 4L;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // The data that follows should start 8-byte aligned; the format allows padding the header with spaces.
        var padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, _, values) in parameters) stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        });
    }
}
