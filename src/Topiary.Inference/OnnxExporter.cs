using Topiary.IO;

namespace Topiary.Inference;

/// <summary>
/// Writes a <see cref="SequentialNetwork"/> as an ONNX model (IR version 8, default opset 13), encoding the
/// protobuf messages of <c>onnx.proto</c> by hand: Conv, MaxPool and AveragePool (<c>count_include_pad</c> = 1)
/// with the layer's kernel_shape, strides and symmetric pads [ph, pw, ph, pw], Relu, Flatten (axis 1) and Gemm
/// (transB = 1) for linear layers; weights are float32 initializers in raw_data named as the state dict names them. The graph input is "input" [batch, C, H, W] with a symbolic batch, the output "output".
/// </summary>
public static class OnnxExporter
{
    /// <summary>Writes the model atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, SequentialNetwork network) => AtomicFile.WriteAllBytes(path, Encode(network));

    /// <summary>The serialized ModelProto.</summary>
    public static byte[] Encode(SequentialNetwork network) => OnnxGraphWriter.Encode(network, (graph, layer, input) =>
    {
        graph.Initializer($"{layer.Name}.weight", layer.WeightShape, layer.Weight);
        graph.Initializer($"{layer.Name}.bias", [layer.OutputUnits], layer.Bias);
        return new OnnxGraphWriter.WeightedInputs(input, $"{layer.Name}.weight", $"{layer.Name}.bias");
    });
}
