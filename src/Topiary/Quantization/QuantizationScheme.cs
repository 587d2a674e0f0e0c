namespace Topiary.Quantization;

/// <summary>
/// A symmetric uniform integer grid for weights, as in quantization-aware training with a straight-through
/// estimator (QReg, AskariHemmat et al. 2022, seed paper #111) and in ONNX's QDQ format with zero point 0: the levels are the
/// integers −q … q with q = 2^(b−1) − 1 (127 for int8, 7 for int4; −2^(b−1) is left out so the grid is symmetric), the
/// scale of a group is s = max|w| / q over the group (the tensor or one output channel, see <see cref="Granularity"/>),
/// and a weight maps to s·clamp(round(w/s), −q, q), rounding half to even. Zero maps to zero, so pruned weights stay
/// pruned; the largest weight of a group maps onto itself, so no weight is clipped.
/// </summary>
public sealed record QuantizationScheme
{
    /// <summary>A scheme of <paramref name="bits"/> bits (2 to 8) with the given granularity.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is outside 2 … 8.</exception>
    public QuantizationScheme(int bits, QuantizationGranularity granularity = QuantizationGranularity.PerChannel)
    {
        if (bits is < 2 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "quantization needs 2 to 8 bits");
        Bits = bits;
        Granularity = granularity;
    }

    /// <summary>Symmetric int8 with one scale per output channel, the usual choice for weights.</summary>
    public static QuantizationScheme Int8 { get; } = new(8);

    /// <summary>Symmetric int4 (levels −7 … 7) with one scale per output channel.</summary>
    public static QuantizationScheme Int4 { get; } = new(4);

    /// <summary>Bits per weight, 2 to 8.</summary>
    public int Bits { get; }

    /// <summary>Whether each output channel or the whole tensor shares a scale.</summary>
    public QuantizationGranularity Granularity { get; }

    /// <summary>q = 2^(b−1) − 1, the largest level.</summary>
    public int MaxLevel => (1 << (Bits - 1)) - 1;

    /// <summary>The scale of a group whose largest magnitude is <paramref name="maxAbs"/>: max|w|/q, or 1 for an all-zero group (any scale represents it).</summary>
    public float ScaleFor(float maxAbs) => maxAbs > 0f ? maxAbs / MaxLevel : 1f;

    /// <summary>clamp(round(w/s), −q, q), rounding half to even (as <c>torch.round</c>).</summary>
    public int Level(float value, float scale) => (int)Math.Clamp(MathF.Round(value / scale, MidpointRounding.ToEven), -MaxLevel, MaxLevel);

    /// <summary>"int8 per channel", "int4 per tensor".</summary>
    public override string ToString() => $"int{Bits} per {(Granularity == QuantizationGranularity.PerChannel ? "channel" : "tensor")}";
}
