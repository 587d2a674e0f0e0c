using System.Buffers.Binary;
using System.Numerics;

namespace Topiary.Inference;

/// <summary>
/// Encodes one float tensor in the smallest of the <see cref="TensorLayout"/>s and decodes it back with every
/// structural check (monotone row pointers, in-range and increasing column indices, bit counts) so that a damaged
/// payload is reported instead of producing a wrong model. Values are float32, IEEE binary16, or the integer levels of
/// a quantized weight as int8 or, two to a byte, int4 (<see cref="ValueEncoding"/>). Zero entries are not stored: a −0.0 comes back as +0.0, every
/// other value bit for bit.
/// </summary>
internal static class SparseTensorCodec
{
    /// <summary>Bytes that <paramref name="count"/> values take: 4, 2 or 1 each, or two int4 levels per byte.</summary>
    public static long ValueBytes(long count, ValueEncoding encoding) => encoding switch
    {
        ValueEncoding.Float32 => count * 4,
        ValueEncoding.Float16 => count * 2,
        ValueEncoding.Int8 => count,
        ValueEncoding.Int4 => (count + 1) / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
    };

    /// <summary>Row count used by CSR: the first dimension (1 for scalars and vectors are one row).</summary>
    public static (long Rows, long Columns) Matrix(long[] shape, long numel)
    {
        var rows = shape.Length >= 2 ? shape[0] : 1;
        return rows == 0 ? (0, 0) : (rows, numel / rows);
    }

    /// <summary>
    /// Bytes a payload in <paramref name="layout"/> spends on where its non-zero entries are: CSR's row pointers and
    /// column indices, the bitmask, or the gap-coded rows' counts and <paramref name="gapBytes"/> (which the file's header
    /// records, as their number varies); 0 when dense.
    /// </summary>
    public static long PositionBytes(TensorLayout layout, long[] shape, long numel, long nonzero, long gapBytes = 0)
    {
        var (rows, columns) = Matrix(shape, numel);
        return layout switch
        {
            TensorLayout.Dense => 0,
            TensorLayout.Csr => (rows + 1) * 4 + nonzero * (columns <= 65536 ? 2 : 4),
            TensorLayout.Bitmask => (numel + 7) / 8,
            TensorLayout.Gaps => rows * 2 + gapBytes,
            _ => throw new ArgumentOutOfRangeException(nameof(layout)),
        };
    }

    /// <summary>Bytes of a payload in <paramref name="layout"/>: its positions and its values (all of them when dense).</summary>
    public static long EncodedSize(TensorLayout layout, long[] shape, long numel, long nonzero, ValueEncoding encoding, long gapBytes = 0) =>
        PositionBytes(layout, shape, numel, nonzero, gapBytes) + ValueBytes(layout == TensorLayout.Dense ? numel : nonzero, encoding);

    /// <summary>Rows at most this long can be gap-coded (their counts fit in uint16).</summary>
    public const long MaxGapRowLength = ushort.MaxValue;

    /// <summary>Bytes the gaps of <see cref="TensorLayout.Gaps"/> take for these values: Σ (1 + ⌊gap/255⌋).</summary>
    public static long GapBytes(float[] values, long[] shape)
    {
        var (rows, columns) = Matrix(shape, values.Length);
        long bytes = 0;
        for (long r = 0; r < rows; r++)
        {
            long previous = -1;
            for (long c = 0; c < columns; c++)
            {
                if (values[r * columns + c] == 0f) continue;
                bytes += 1 + (c - previous) / 255;
                previous = c;
            }
        }
        return bytes;
    }

    /// <summary>
    /// Encodes the values in the smallest layout: dense, CSR or bitmask, and, with <paramref name="allowGaps"/> (format
    /// version 3), gap-coded rows. Returns the gap bytes too, which the header must record for <see cref="TensorLayout.Gaps"/>.
    /// </summary>
    public static (TensorLayout Layout, byte[] Payload, long Nonzero, long GapBytes) Encode(float[] values, long[] shape, ValueEncoding encoding, bool allowGaps = false)
    {
        long nonzero = values.Count(v => v != 0f);
        var (_, rowLength) = Matrix(shape, values.Length);
        var gapBytes = allowGaps && rowLength <= MaxGapRowLength ? GapBytes(values, shape) : -1;
        var candidates = gapBytes >= 0
            ? new[] { TensorLayout.Dense, TensorLayout.Csr, TensorLayout.Bitmask, TensorLayout.Gaps }
            : new[] { TensorLayout.Dense, TensorLayout.Csr, TensorLayout.Bitmask };
        var layout = candidates.MinBy(l => EncodedSize(l, shape, values.Length, nonzero, encoding, Math.Max(gapBytes, 0)));
        var payload = new byte[EncodedSize(layout, shape, values.Length, nonzero, encoding, Math.Max(gapBytes, 0))];
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
            case TensorLayout.Gaps:
            {
                var (rows, columns) = Matrix(shape, values.Length);
                var gaps = span.Slice((int)rows * 2);
                var valueBytes = gaps.Slice((int)gapBytes);
                int k = 0, g = 0;
                for (var r = 0; r < rows; r++)
                {
                    long previous = -1;
                    var count = 0;
                    for (var c = 0; c < columns; c++)
                    {
                        var v = values[r * columns + c];
                        if (v == 0f) continue;
                        for (var gap = c - previous; ; gap -= 255)
                        {
                            if (gap < 255) { gaps[g++] = (byte)gap; break; }
                            gaps[g++] = 255;
                        }
                        previous = c;
                        count++;
                        WriteValue(valueBytes, k++, v, encoding);
                    }
                    BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(r * 2), (ushort)count);
                }
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
        return (layout, payload, nonzero, layout == TensorLayout.Gaps ? gapBytes : 0);
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
            case TensorLayout.Gaps:
            {
                var (rows, columns) = Matrix(shape, numel);
                var valueBytes = payload.Slice(payload.Length - (int)ValueBytes(nonzero, encoding));
                var gaps = payload.Slice((int)rows * 2, payload.Length - (int)rows * 2 - valueBytes.Length);
                long counted = 0;
                for (var r = 0; r < rows; r++) counted += BinaryPrimitives.ReadUInt16LittleEndian(payload.Slice(r * 2));
                if (counted != nonzero) throw new FormatException($"gap-coded rows count {counted} non-zero entries but the header says {nonzero}");
                int k = 0, g = 0;
                for (var r = 0; r < rows; r++)
                {
                    var count = BinaryPrimitives.ReadUInt16LittleEndian(payload.Slice(r * 2));
                    long column = -1;
                    for (var i = 0; i < count; i++)
                    {
                        long gap = 0;
                        while (true)
                        {
                            if (g >= gaps.Length) throw new FormatException($"the gaps of row {r} run past their bytes");
                            var b = gaps[g++];
                            gap += b;
                            if (b < 255) break;
                        }
                        column += gap;
                        if (gap == 0 || column >= columns) throw new FormatException($"a gap in row {r} is 0 or leads past column {columns - 1}");
                        values[r * columns + column] = ReadValue(valueBytes, k++, encoding);
                    }
                }
                if (g != gaps.Length) throw new FormatException($"{gaps.Length - g} gap bytes are left over");
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
            // Two levels per byte, the first in the low nibble; the target starts zeroed.
            case ValueEncoding.Int4: target[index >> 1] |= (byte)((checked((sbyte)value) & 0xF) << ((index & 1) * 4)); break;
            default: BinaryPrimitives.WriteSingleLittleEndian(target.Slice(index * 4), value); break;
        }
    }

    private static float ReadValue(ReadOnlySpan<byte> source, int index, ValueEncoding encoding) => encoding switch
    {
        ValueEncoding.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(source.Slice(index * 2)),
        ValueEncoding.Int8 => unchecked((sbyte)source[index]),
        ValueEncoding.Int4 => (sbyte)((source[index >> 1] >> ((index & 1) * 4) & 0xF) << 4) >> 4,
        _ => BinaryPrimitives.ReadSingleLittleEndian(source.Slice(index * 4)),
    };
}
