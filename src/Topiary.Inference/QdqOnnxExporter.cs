using Topiary.IO;
using Topiary.Quantization;
using ElementType = Topiary.Inference.OnnxGraphWriter.ElementType;

namespace Topiary.Inference;

/// <summary>
/// Writes a <see cref="SequentialNetwork"/> quantized on a <see cref="QuantizationScheme"/> as an ONNX model in the
/// QDQ format (QuantizeLinear/DequantizeLinear around float operators), as ONNX Runtime's own quantization tool writes
/// static quantization, so that ONNX Runtime can fuse it into int8 kernels (QLinearConv, QGemm) where its optimizer
/// finds the pattern and runs the float operators between the nodes otherwise. The graph is <see cref="OnnxExporter"/>'s
/// (IR 8, opset 13, input "input" [batch, C, H, W] with a symbolic batch, output "output") with, for each weighted layer L:
/// <list type="bullet">
/// <item>its input x through QuantizeLinear → DequantizeLinear with the uint8 scale s_x and zero point z of L's
/// calibrated <see cref="ActivationRange"/> (scalar initializers <c>L.input_scale</c>, <c>L.input_zero_point</c>);</item>
/// <item>its weight as the int8 initializer <c>L.weight_quantized</c> of the levels of <see cref="WeightQuantizer.Quantize"/>
/// (bit for bit the levels Topiary's int8 sparse file stores; pruned weights are level 0; int4 and narrower grids are stored in int8),
/// dequantized by DequantizeLinear with <c>L.weight_scale</c> s_w, per output unit (axis 0: the rows of Conv's
/// [out, in, kh, kw] and of Gemm's [out, in] with transB = 1) or a scalar per tensor, and int8 zero points 0;</item>
/// <item>its bias as the int32 initializer <c>L.bias_quantized</c> = clamp(round(b / (s_x·s_w)), int32), rounding half to
/// even with s_x·s_w the float32 product, dequantized with scale s_x·s_w (axis 0 per channel) and int32 zero points 0.</item>
/// </list>
/// The DequantizeLinear outputs keep the state-dict names (<c>L.weight</c>, <c>L.bias</c>). ReLU, pooling and flatten
/// stay float. Activations are dequantized to float at each weighted layer, so the model computes what a float network
/// with the dequantized weights and biases computes on quantized inputs, up to float rounding (fused int8 kernels
/// accumulate in int32 and requantize, which may move a value across a rounding boundary by one step).
/// </summary>
public static class QdqOnnxExporter
{
    /// <summary>Writes the model atomically to <paramref name="path"/>.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="network">The float network.</param>
    /// <param name="scheme">The weight grid (bits, per channel or per tensor).</param>
    /// <param name="ranges">The input range of every weighted layer (<see cref="ActivationCalibration"/>).</param>
    /// <exception cref="ArgumentException">As for <see cref="Encode"/>.</exception>
    public static void Save(string path, SequentialNetwork network, QuantizationScheme scheme, ActivationRanges ranges) =>
        AtomicFile.WriteAllBytes(path, Encode(network, scheme, ranges));

    /// <summary>The serialized ModelProto.</summary>
    /// <param name="network">The float network.</param>
    /// <param name="scheme">The weight grid (bits, per channel or per tensor).</param>
    /// <param name="ranges">The input range of every weighted layer (<see cref="ActivationCalibration"/>).</param>
    /// <exception cref="ArgumentException">The ranges are not one per weighted layer, two weighted layers share a name, or a weight or bias is not finite.</exception>
    public static byte[] Encode(SequentialNetwork network, QuantizationScheme scheme, ActivationRanges ranges)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(ranges);
        if (network.Layers.OfType<WeightedLayer>().GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"two weighted layers are named '{twice.Key}'", nameof(network));
        ranges.CheckCovers(network, nameof(ranges));
        return OnnxGraphWriter.Encode(network, (graph, layer, input) => Quantized(graph, layer, input, scheme, ranges[layer.Name]));
    }

    /// <summary>int32 bias levels clamp(round(b/s), int32) for the bias scales s = s_x·s_w (one, or one per unit).</summary>
    private static int[] BiasLevels(float[] bias, float[] scales) => bias.Select((b, o) =>
    {
        var level = Math.Round(b / (double)scales[scales.Length == 1 ? 0 : o], MidpointRounding.ToEven);
        return b == 0f ? 0 : (int)Math.Clamp(level, int.MinValue, int.MaxValue);
    }).ToArray();

    private static OnnxGraphWriter.WeightedInputs Quantized(OnnxGraphWriter graph, WeightedLayer layer, string input, QuantizationScheme scheme, ActivationRange range)
    {
        var name = layer.Name;
        if (layer.Bias.Any(b => !float.IsFinite(b))) throw new ArgumentException($"{name}.bias has values that are not finite", nameof(layer));
        var weight = WeightQuantizer.Quantize($"{name}.weight", layer.WeightShape, layer.Weight, scheme);
        var perChannel = scheme.Granularity == QuantizationGranularity.PerChannel;
        long[] scaleDims = perChannel ? [weight.Scales.Length] : [];

        graph.Initializer($"{name}.input_scale", [], [range.Scale]);
        graph.Initializer($"{name}.input_zero_point", [], ElementType.UInt8, [range.ZeroPoint]);
        graph.Node("QuantizeLinear", $"{name}.input_quantize", [input, $"{name}.input_scale", $"{name}.input_zero_point"], $"{name}.input_quantized");
        graph.Node("DequantizeLinear", $"{name}.input_dequantize", [$"{name}.input_quantized", $"{name}.input_scale", $"{name}.input_zero_point"], $"{name}.input_dequantized");

        graph.Initializer($"{name}.weight_quantized", weight.Shape, ElementType.Int8, weight.Levels);
        graph.Initializer($"{name}.weight_scale", scaleDims, weight.Scales);
        graph.Initializer($"{name}.weight_zero_point", scaleDims, ElementType.Int8, new sbyte[weight.Scales.Length]);
        Dequantize(graph, $"{name}.weight", perChannel);

        var biasScales = weight.Scales.Select(s => range.Scale * s).ToArray();
        graph.Initializer($"{name}.bias_quantized", [layer.OutputUnits], ElementType.Int32, BiasLevels(layer.Bias, biasScales));
        graph.Initializer($"{name}.bias_scale", scaleDims, biasScales);
        graph.Initializer($"{name}.bias_zero_point", scaleDims, ElementType.Int32, new int[biasScales.Length]);
        Dequantize(graph, $"{name}.bias", perChannel);

        return new OnnxGraphWriter.WeightedInputs($"{name}.input_dequantized", $"{name}.weight", $"{name}.bias");
    }

    /// <summary>DequantizeLinear of <c>{tensor}_quantized</c> with <c>{tensor}_scale</c> and <c>{tensor}_zero_point</c> into <c>{tensor}</c>.</summary>
    private static void Dequantize(OnnxGraphWriter graph, string tensor, bool perChannel) =>
        graph.Node("DequantizeLinear", $"{tensor}_dequantize", [$"{tensor}_quantized", $"{tensor}_scale", $"{tensor}_zero_point"], tensor,
            a => { if (perChannel) OnnxGraphWriter.IntAttribute(a, "axis", 0); });
}
