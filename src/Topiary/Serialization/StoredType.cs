using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// An element type as Topiary's files name it (<c>float32</c>, <c>int64</c>, …, PyTorch's dtype names), and
/// <c>bit</c>: booleans packed eight to a byte, least significant bit first, which is how masks are stored.
/// </summary>
internal sealed record StoredType(string Name, ScalarType Type, int BitsPerElement)
{
    /// <summary>Booleans packed eight to a byte; read back as a <c>bool</c> tensor.</summary>
    public static readonly StoredType Bit = new("bit", ScalarType.Bool, 1);

    private static readonly StoredType[] Plain =
    [
        new("float32", ScalarType.Float32, 32), new("float64", ScalarType.Float64, 64), new("float16", ScalarType.Float16, 16),
        new("bfloat16", ScalarType.BFloat16, 16), new("int64", ScalarType.Int64, 64), new("int32", ScalarType.Int32, 32),
        new("int16", ScalarType.Int16, 16), new("int8", ScalarType.Int8, 8), new("uint8", ScalarType.Byte, 8), new("bool", ScalarType.Bool, 8),
    ];

    /// <summary>The type stored under <paramref name="name"/>, or null for a name Topiary does not know.</summary>
    public static StoredType? FromName(string name) => name == Bit.Name ? Bit : Array.Find(Plain, t => t.Name == name);

    /// <summary>The one-byte-or-more type that holds <paramref name="type"/> exactly.</summary>
    /// <exception cref="ArgumentException">A type the files do not hold (complex numbers).</exception>
    public static StoredType Of(ScalarType type) =>
        Array.Find(Plain, t => t.Type == type) ?? throw new ArgumentException($"tensors of type {type} cannot be stored");

    /// <summary>The name of <paramref name="type"/> in messages (<c>float32</c>, <c>int64</c>, …).</summary>
    public static string NameOf(ScalarType type) => Array.Find(Plain, t => t.Type == type)?.Name ?? type.ToString();

    /// <summary>Whether this is a floating-point type (values convert between these with rounding only).</summary>
    public static bool IsFloatingPoint(ScalarType type) =>
        type is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>Bytes that <paramref name="elements"/> take, the last byte of packed bits rounded up.</summary>
    public long ByteCount(long elements) => BitsPerElement == 1 ? (elements + 7) / 8 : elements * (BitsPerElement / 8);
}
