using Topiary.Quantization;

namespace Topiary.Inference;

/// <summary>
/// Quantizes the weights of a <see cref="SequentialNetwork"/> on a <see cref="QuantizationScheme"/>'s grid, with the same
/// arithmetic as <see cref="FakeQuantization"/> in training (s = max|w|/q in float32, levels round(w/s) half to even,
/// clamped to ±q), so that a model trained with quantization-aware training is exported exactly as it was trained.
/// Biases stay float32 here (<see cref="QdqOnnxExporter"/> makes them int32 at export, as ONNX's QDQ format wants).
/// </summary>
public static class WeightQuantizer
{
    /// <summary>The levels and scales of one weight tensor.</summary>
    /// <exception cref="ArgumentException">A value is not finite.</exception>
    public static QuantizedTensor Quantize(string name, long[] shape, float[] values, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(scheme);
        if (values.Any(v => !float.IsFinite(v))) throw new ArgumentException($"{name} has values that are not finite", nameof(values));
        var rows = scheme.Granularity == QuantizationGranularity.PerChannel && shape.Length >= 1 && shape[0] > 0 ? (int)shape[0] : 1;
        var rowLength = values.Length / Math.Max(rows, 1);
        var scales = new float[rows];
        var levels = new sbyte[values.Length];
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * rowLength, rowLength);
            var maxAbs = 0f;
            foreach (var v in row) maxAbs = Math.Max(maxAbs, Math.Abs(v));
            scales[r] = scheme.ScaleFor(maxAbs);
            for (var i = 0; i < row.Length; i++) levels[r * rowLength + i] = (sbyte)scheme.Level(row[i], scales[r]);
        }
        return new QuantizedTensor(name, shape, levels, scales, scheme.Bits);
    }

    /// <summary>The quantized weight of every weighted layer, in layer order.</summary>
    public static IReadOnlyList<QuantizedTensor> QuantizeWeights(SequentialNetwork network, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network.Layers.OfType<WeightedLayer>().Select(l => Quantize($"{l.Name}.weight", l.WeightShape, l.Weight, scheme)).ToList();
    }

    /// <summary>
    /// The network with every weight replaced by its quantized value (levels × scale) and the biases unchanged: the
    /// fake-quantized model, which Topiary's float kernels and exporters run as they run any network.
    /// </summary>
    public static SequentialNetwork Dequantized(SequentialNetwork network, QuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.Layers.Select(layer => layer switch
        {
            LinearLayer l => l with { Weight = Quantize($"{l.Name}.weight", l.WeightShape, l.Weight, scheme).Dequantize() },
            Conv2dLayer c => (NetworkLayer)(c with { Weight = Quantize($"{c.Name}.weight", c.WeightShape, c.Weight, scheme).Dequantize() }),
            _ => layer,
        }).ToList();
        return network with { Layers = layers };
    }
}
