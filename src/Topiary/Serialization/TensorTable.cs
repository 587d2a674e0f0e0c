using System.Text.Json;
using System.Text.Json.Nodes;

namespace Topiary.Serialization;

/// <summary>
/// Reads the tensor table of a file's JSON header without trusting it: names are strings, shapes are lists of at
/// most <see cref="MaxDimensions"/> non-negative integers, and each tensor's byte length is computed step by step
/// against the bytes the file really has left, so a forged 2^31 × 2^31 neither overflows nor allocates.
/// Errors go through the reader's own exception (one line naming the file).
/// </summary>
internal static class TensorTable
{
    /// <summary>Most dimensions a stored tensor may have (PyTorch allows more; no layer of a network uses them).</summary>
    public const int MaxDimensions = 16;

    /// <summary>The object at <paramref name="index"/> of the table.</summary>
    public static JsonObject Entry(JsonArray table, int index, Func<string, Exception?, Exception> error) =>
        table[index] as JsonObject ?? throw error($"tensor entry {index} is not an object", null);

    /// <summary>A string field of a tensor entry.</summary>
    public static string ReadString(JsonObject entry, string key, int index, Func<string, Exception?, Exception> error)
    {
        try
        {
            return entry[key]?.GetValue<string>() ?? throw error($"tensor entry {index} has no '{key}'", null);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw error($"tensor entry {index}: '{key}' is not a string", e);
        }
    }

    /// <summary>The entry's <c>shape</c>: at most <see cref="MaxDimensions"/> non-negative integers.</summary>
    public static long[] ReadShape(JsonObject entry, string name, Func<string, Exception?, Exception> error)
    {
        if (entry["shape"] is not JsonArray dims || dims.Count > MaxDimensions)
            throw error($"tensor '{name}' has no valid shape (a list of at most {MaxDimensions} sizes)", null);
        long[] shape;
        try
        {
            shape = dims.Select(d => d?.GetValue<long>() ?? -1).ToArray();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or JsonException)
        {
            throw error($"tensor '{name}' has a size that is not an integer", e);
        }
        if (shape.FirstOrDefault(d => d < 0, 0) is var negative and < 0) throw error($"tensor '{name}' has a negative size {negative}", null);
        return shape;
    }

    /// <summary>
    /// The bytes a tensor of <paramref name="shape"/> and <paramref name="type"/> takes, refused as soon as the product
    /// exceeds <paramref name="available"/> bytes (so the multiplication never overflows).
    /// </summary>
    public static long ByteLength(string name, long[] shape, StoredType type, long available, Func<string, Exception?, Exception> error)
    {
        // Elements that could fit at all: 8 per byte for bits, fewer for wider types.
        var maxElements = type.BitsPerElement == 1 ? available * 8 : available / (type.BitsPerElement / 8);
        long count = 1;
        foreach (var d in shape)
        {
            if (d != 0 && count > maxElements / d)
                throw error($"tensor '{name}' of shape [{string.Join(",", shape)}] is larger than the file", null);
            count *= d;
        }
        return type.ByteCount(count);
    }
}
