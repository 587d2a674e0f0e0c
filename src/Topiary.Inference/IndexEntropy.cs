namespace Topiary.Inference;

/// <summary>
/// How small the positions of a sparse tensor's non-zero entries could be coded: the empirical (zeroth-order) entropy
/// of the gaps between consecutive non-zeros in row-major order, H = −Σ_g p(g)·log₂ p(g) bits per non-zero, as an entropy
/// coder (Huffman, arithmetic) of the gaps would approach. It bounds what coding the indices would gain over CSR's 16-bit
/// column indices plus row pointers; the file format itself does not entropy-code.
/// </summary>
public static class IndexEntropy
{
    /// <summary>Bytes that nonzero·H bits of gap entropy take (0 for fewer than two non-zeros' worth of information).</summary>
    public static double GapBytes(ReadOnlySpan<float> values)
    {
        var counts = new Dictionary<long, long>();
        long previous = -1, nonzero = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] == 0f) continue;
            var gap = i - previous;
            counts[gap] = counts.GetValueOrDefault(gap) + 1;
            previous = i;
            nonzero++;
        }
        if (nonzero == 0) return 0;
        var bits = 0.0;
        foreach (var count in counts.Values)
        {
            var p = (double)count / nonzero;
            bits -= count * Math.Log2(p);
        }
        return bits / 8;
    }
}
