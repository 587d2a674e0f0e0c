using System.Text.Json.Nodes;

namespace Topiary.Serialization;

/// <summary>
/// Reader of version-1 model files (Topiary before format version 2): magic, version 1, int32 header length, a JSON
/// header (architecture, image size, classes, metadata, config, and <c>tensors</c>: <c>{"name", "shape", "masked"}</c>
/// per parameter), every parameter as float32 in table order, the masks of the masked ones as packed bits in the same
/// order, and a CRC-32 of all that before it (<see cref="FormatV1Layout"/>). No buffers. The masks are presented as
/// tensors named <see cref="ModelFile.MaskPrefix"/> + parameter name, as version 2 stores them.
/// </summary>
internal static class ModelFileFormatV1
{
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>Verifies the whole-file checksum, then places every parameter and mask inside the file.</summary>
    public static TensorFileReader Open(Stream stream, long length, Func<string, Exception?, Exception> error)
    {
        var (header, parameters, offset) = FormatV1Layout.Open(stream, length, MaxHeaderBytes, error);
        var entries = parameters.Select(p => p.Entry).ToList();
        var end = length - 4;
        foreach (var parameter in parameters.Where(p => IsMasked(p.Json, p.Entry.Name, error)).Select(p => p.Entry))
        {
            // Bounded by the parameter's own size, which already fit the file.
            var bytes = StoredType.Bit.ByteCount(parameter.Shape.Aggregate(1L, (a, b) => a * b));
            if (offset + bytes > end) throw error($"the mask of '{parameter.Name}' runs past the end of the file", null);
            entries.Add(new TensorEntry(ModelFile.MaskPrefix + parameter.Name, StoredType.Bit, parameter.Shape, offset, bytes, Checksummed: false));
            offset += bytes;
        }
        if (offset != end) throw error($"size mismatch: the header describes {offset + 4} bytes but the file holds {length}", null);
        return new TensorFileReader(stream, 1, header, entries, error);
    }

    private static bool IsMasked(JsonObject entry, string name, Func<string, Exception?, Exception> error)
    {
        try
        {
            return entry["masked"]?.GetValue<bool>() ?? throw error($"tensor '{name}' has no 'masked' flag", null);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw error($"tensor '{name}': 'masked' is not true or false", e);
        }
    }
}
