using System.Buffers.Binary;
using System.Numerics;

namespace Topiary.Inference;

/// <summary>
/// Encodes one float tensor in the smallest of the <see cref="TensorLayout"/>s and decodes it back with every
/// structural check (monotone row pointers, in-range and increasing column indices, bit counts) so that a damaged
/// payload is reported instead of producing a wrong model. Values are float32, IEEE binary16, or the integer levels of
/// a quantized weight as int8 (<see cref="ValueEncoding"/>). Zero entries are not stored: a −0.0 comes back as +0.0, every
/// other value bit for bit.
/// </summary>
internal static class SparseTensorCodec
{
    public static int ValueSize(ValueEncoding encoding) => encoding switch
    {
        ValueEncoding.Float32 => 4,
        ValueEncoding.Float16 => 2,
        ValueEncoding.Int8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
    };

    /// <summary>Row count used by CSR: the first dimension (1 for scalars and vectors are one row).</summary>
    public static (long Rows, long Columns) Matrix(long[] shape, long numel)
    {
        var rows = shape.Length >= 2 ? shape[0] : 1;
        return rows == 0 ? (0, 0) : (rows, numel / rows);
    }

    public static long EncodedSize(TensorLayout layout, long[] shape, long numel, long nonzero, ValueEncoding encoding)
    {
        var (rows, columns) = Matrix(shape, numel);
        return layout switch
        {
            TensorLayout.Dense => numel * ValueSize(encoding),
            TensorLayout.Csr => (rows + 1) * 4 + nonzero * (columns <= 65536 ? 2 : 4) + nonzero * ValueSize(encoding),
            TensorLayout.Bitmask => (numel + 7) / 8 + nonzero * ValueSize(encoding),
            _ => throw new ArgumentOutOfRangeException(nameof(layout)),
        };
    }

    public static (TensorLayout Layout, byte[] Payload, long Nonzero) Encode(float[] values, long[] shape, ValueEncoding encoding)
    {
        long nonzero = values.Count(v => v != 0f);
        var layout = new[] { TensorLayout.Dense, TensorLayout.Csr, TensorLayout.Bitmask }
            .MinBy(l => EncodedSize(l, shape, values.Length, nonzero, encoding));
        var payload = new byte[EncodedSize(layout, shape, values.Length, nonzero, encoding)];
        var span = payload.AsSpan();
        switch (layout)
        {
            case TensorLayout.Dense:
                WriteValues(span, values, encoding);
                break;
            case TensorLayout.Csr:
            {
                var (rows, columns) = Matrix(shape, values.Length);
                var wide = columns > 65536;
                var indices = span.Slice((int)(rows + 1) * 4);
                var valueBytes = indices.Slice((int)nonzero * (wide ? 4 : 2));
                int k = 0;
                for (var r = 0; r < rows; r++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(r * 4), (uint)k);
                    for (var c = 0; c < columns; c++)
                    {
                        var v = values[r * columns + c];
                        if (v == 0f) continue;
                        if (wide) BinaryPrimitives.WriteUInt32LittleEndian(indices.Slice(k * 4), (uint)c);
                        else BinaryPrimitives.WriteUInt16LittleEndian(indices.Slice(k * 2), (ushort)c);
                        WriteValue(valueBytes, k++, v, encoding);
                    }
                }
                BinaryPrimitives.WriteUInt32LittleEndian(span.Slice((int)rows * 4), (uint)k);
                break;
            }
            case TensorLayout.Bitmask:
            {
                var bits = span.Slice(0, (values.Length + 7) / 8);
                var valueBytes = span.Slice(bits.Length);
                int k = 0;
                for (var i = 0; i < values.Length; i++)
                {
                    if (values[i] == 0f) continue;
                    bits[i >> 3] |= (byte)(1 << (i & 7));
                    WriteValue(valueBytes, k++, values[i], encoding);
                }
                break;
            }
        }
        return (layout, payload, nonzero);
    }

    /// <summary>Decodes a payload whose length the caller has already checked against <see cref="EncodedSize"/>.</summary>
    /// <exception cref="FormatException">The payload is structurally invalid; the message says how.</exception>
    public static float[] Decode(ReadOnlySpan<byte> payload, TensorLayout layout, long[] shape, long numel, long nonzero, ValueEncoding encoding)
    {
        var values = new float[numel];
        switch (layout)
        {
            case TensorLayout.Dense:
                for (var i = 0; i < numel; i++) values[i] = ReadValue(payload, i, encoding);
                break;
            case TensorLayout.Csr:
            {
                var (rows, columns) = Matrix(shape, numel);
                var wide = columns > 65536;
                var indices = payload.Slice((int)(rows + 1) * 4);
                var valueBytes = indices.Slice((int)nonzero * (wide ? 4 : 2));
                if (BinaryPrimitives.ReadUInt32LittleEndian(payload) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice((int)rows * 4)) != nonzero)
                    throw new FormatException("CSR row pointers do not span the non-zero entries");
                for (var r = 0; r < rows; r++)
                {
                    var start = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(r * 4));
                    var end = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice((r + 1) * 4));
                    if (end < start || end > nonzero) throw new FormatException($"CSR row pointer {r + 1} is out of order");
                    long previous = -1;
                    for (var k = (int)start; k < end; k++)
                    {
                        long c = wide ? BinaryPrimitives.ReadUInt32LittleEndian(indices.Slice(k * 4)) : BinaryPrimitives.ReadUInt16LittleEndian(indices.Slice(k * 2));
                        if (c <= previous || c >= columns) throw new FormatException($"CSR column index {c} in row {r} is out of order or range");
                        previous = c;
                        values[r * columns + c] = ReadValue(valueBytes, k, encoding);
                    }
                }
                break;
            }
            case TensorLayout.Bitmask:
            {
                var bits = payload.Slice(0, (int)((numel + 7) / 8));
                long set = 0;
                foreach (var b in bits) set += BitOperations.PopCount(b);
                if (set != nonzero || (numel % 8 != 0 && bits[^1] >> (int)(numel % 8) != 0))
                    throw new FormatException($"bitmask has {set} bits set but the header says {nonzero} non-zero entries");
                var valueBytes = payload.Slice(bits.Length);
                int k = 0;
                for (var i = 0; i < numel; i++)
                    if ((bits[i >> 3] >> (i & 7) & 1) != 0) values[i] = ReadValue(valueBytes, k++, encoding);
                break;
            }
            default:
                throw new FormatException($"unknown layout {layout}");
        }
        return values;
    }

    private static void WriteValues(Span<byte> target, float[] values, ValueEncoding encoding)
    {
        for (var i = 0; i < values.Length; i++) WriteValue(target, i, values[i], encoding);
    }

    private static void WriteValue(Span<byte> target, int index, float value, ValueEncoding encoding)
    {
        switch (encoding)
        {
            case ValueEncoding.Float16: BinaryPrimitives.WriteHalfLittleEndian(target.Slice(index * 2), (Half)value); break;
            case ValueEncoding.Int8: target[index] = unchecked((byte)checked((sbyte)value)); break;
            default: BinaryPrimitives.WriteSingleLittleEndian(target.Slice(index * 4), value); break;
        }
    }

    private static float ReadValue(ReadOnlySpan<byte> source, int index, ValueEncoding encoding) => encoding switch
    {
        ValueEncoding.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(source.Slice(index * 2)),
        ValueEncoding.Int8 => unchecked((sbyte)source[index]),
        _ => BinaryPrimitives.ReadSingleLittleEndian(source.Slice(index * 4)),
    };
}
