namespace Topiary.Inference;

/// <summary>
/// A weight tensor on a symmetric integer grid (<see cref="Topiary.Quantization.QuantizationScheme"/>): integer levels in
/// −q … q and one scale per output unit (<see cref="Scales"/> has <c>Shape[0]</c> entries) or one for the whole tensor,
/// so that value[i] = Levels[i]·scale(row of i). Zero levels are the pruned weights.
/// </summary>
/// <param name="Name">The state-dict name (<c>fc1.weight</c>).</param>
/// <param name="Shape">PyTorch's shape: [out, in] or [out, in, kh, kw].</param>
/// <param name="Levels">Row-major integer levels.</param>
/// <param name="Scales">One scale per output unit, or a single one.</param>
/// <param name="Bits">Bits of the grid (levels lie in −(2^(b−1) − 1) … 2^(b−1) − 1).</param>
public sealed record QuantizedTensor(string Name, long[] Shape, sbyte[] Levels, float[] Scales, int Bits)
{
    /// <summary>Number of entries per output unit.</summary>
    public long RowLength => Shape.Length == 0 || Shape[0] == 0 ? Levels.Length : Levels.Length / Shape[0];

    /// <summary>The scale of entry <paramref name="index"/>.</summary>
    public float ScaleOf(long index) => Scales.Length == 1 ? Scales[0] : Scales[index / RowLength];

    /// <summary>The float values Levels[i]·scale, computed in float32 as the fake quantization of training computes them.</summary>
    public float[] Dequantize()
    {
        var values = new float[Levels.Length];
        for (var i = 0; i < values.Length; i++) values[i] = Levels[i] * ScaleOf(i);
        return values;
    }
}
