namespace Topiary.Inference;

/// <summary>
/// The calibrated range [<see cref="Min"/>, <see cref="Max"/>] of an activation tensor and its asymmetric uint8
/// quantization per tensor, as ONNX Runtime's quantization tool and its QuantizeLinear/DequantizeLinear define it:
/// scale s = (max − min)/255, zero point z = clamp(round(−min/s), 0, 255), q = clamp(round(x/s) + z, 0, 255) and
/// back x̂ = (q − z)·s, all in float32 with rounding half to even. The range always holds 0 (a narrower one is widened
/// to it), so zero (padding, ReLU's zeros, pruned units) is represented exactly; a degenerate range [0, 0] gets
/// scale 1 and zero point 0, as ONNX Runtime's tool gives it.
/// </summary>
public readonly record struct ActivationRange
{
    /// <summary>The range [min(<paramref name="min"/>, 0), max(<paramref name="max"/>, 0)].</summary>
    /// <exception cref="ArgumentException">A bound is not finite, or <paramref name="min"/> exceeds <paramref name="max"/>.</exception>
    public ActivationRange(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw new ArgumentException($"activation range [{min}, {max}] is not a finite interval");
        Min = Math.Min(min, 0f);
        Max = Math.Max(max, 0f);
    }

    /// <summary>The lower bound (at most 0).</summary>
    public float Min { get; }

    /// <summary>The upper bound (at least 0).</summary>
    public float Max { get; }

    /// <summary>s = (max − min)/255 in float32; 1 where that is 0 or too small to be a normal float (a range [0, 0]).</summary>
    public float Scale
    {
        get
        {
            var scale = (Max - Min) / 255f;
            return float.IsNormal(scale) ? scale : 1f;
        }
    }

    /// <summary>z = clamp(round(−min/s), 0, 255), rounding half to even: the level that stands for 0.</summary>
    public byte ZeroPoint => (byte)Math.Clamp(MathF.Round(-Min / Scale, MidpointRounding.ToEven), 0f, 255f);

    /// <summary>q = clamp(round(x/s) + z, 0, 255), x/s in float32 rounded half to even, as ONNX Runtime's QuantizeLinear (NaN gives z).</summary>
    public byte Quantize(float value)
    {
        var level = MathF.Round(value / Scale, MidpointRounding.ToEven) + ZeroPoint;
        return float.IsNaN(level) ? ZeroPoint : (byte)Math.Clamp(level, 0f, 255f);
    }

    /// <summary>x̂ = (q − z)·s in float32, as ONNX Runtime's DequantizeLinear.</summary>
    public float Dequantize(byte level) => (level - ZeroPoint) * Scale;

    /// <summary>The smallest range that holds both this one and [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <exception cref="ArgumentException">A bound is not finite.</exception>
    public ActivationRange Including(float min, float max) => new(Math.Min(Min, min), Math.Max(Max, max));

    /// <inheritdoc />
    public override string ToString() => $"[{Min}, {Max}]";
}
