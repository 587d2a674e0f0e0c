using System.Runtime.InteropServices;

namespace Topiary.Inference;

/// <summary>
/// The ONNX model of a <see cref="SequentialNetwork"/> (IR version 8, default opset 13), encoded from
/// <c>onnx.proto</c>'s messages by hand: the layer-by-layer graph shared by <see cref="OnnxExporter"/> and
/// <see cref="QdqOnnxExporter"/>, which differ only in what feeds each weighted layer's Gemm or Conv (float
/// initializers, or QuantizeLinear/DequantizeLinear nodes). Initializers are little-endian raw_data, as .NET
/// stores them on every platform it runs TorchSharp on.
/// </summary>
internal sealed class OnnxGraphWriter
{
    private const long IrVersion = 8;
    private const long OpsetVersion = 13;

    // onnx.proto field numbers.
    private static class ModelProto { public const int IrVersion = 1, ProducerName = 2, ProducerVersion = 3, Graph = 7, OpsetImport = 8; }
    private static class OperatorSetIdProto { public const int Domain = 1, Version = 2; }
    private static class GraphProto { public const int Node = 1, Name = 2, Initializer = 5, Input = 11, Output = 12; }
    private static class NodeProto { public const int Input = 1, Output = 2, Name = 3, OpType = 4, Attribute = 5; }
    private static class AttributeProto { public const int Name = 1, I = 3, Ints = 8, Type = 20, TypeInt = 2, TypeInts = 7; }
    private static class TensorProto { public const int Dims = 1, DataType = 2, Name = 8, RawData = 9; }
    private static class ValueInfoProto { public const int Name = 1, Type = 2; }
    private static class TypeProto { public const int TensorType = 1, ElemType = 1, Shape = 2; }
    private static class TensorShapeProto { public const int Dim = 1, DimValue = 1, DimParam = 2; }

    /// <summary>TensorProto.DataType values.</summary>
    public enum ElementType
    {
        Float = 1,
        UInt8 = 2,
        Int8 = 3,
        Int32 = 6,
    }

    /// <summary>The tensors a weighted layer's Gemm or Conv reads: its input, its weight and its bias.</summary>
    public readonly record struct WeightedInputs(string Input, string Weight, string Bias);

    private readonly ProtobufWriter graph = new();

    private OnnxGraphWriter() => graph.String(GraphProto.Name, "topiary");

    /// <summary>
    /// The serialized ModelProto: Conv, MaxPool and AveragePool (<c>count_include_pad</c> = 1) with the layer's
    /// kernel_shape, strides and pads [ph, pw, ph, pw], Relu, Flatten (axis 1) and Gemm (transB = 1); graph input
    /// "input" [batch, C, H, W] with a symbolic batch, output "output". <paramref name="weighted"/> writes what a
    /// weighted layer reads (initializers, nodes) given the name of the layer's input, and names the three tensors.
    /// </summary>
    public static byte[] Encode(SequentialNetwork network, Func<OnnxGraphWriter, WeightedLayer, string, WeightedInputs> weighted)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.Shapes();
        var writer = new OnnxGraphWriter();
        var current = "input";
        for (var i = 0; i < network.Layers.Count; i++)
        {
            var output = i == network.Layers.Count - 1 ? "output" : $"x{i}";
            var layer = network.Layers[i];
            switch (layer)
            {
                case LinearLayer l:
                    var linear = weighted(writer, l, current);
                    writer.Node("Gemm", l.Name, [linear.Input, linear.Weight, linear.Bias], output, a => IntAttribute(a, "transB", 1));
                    break;
                case Conv2dLayer c:
                    var conv = weighted(writer, c, current);
                    writer.Node("Conv", c.Name, [conv.Input, conv.Weight, conv.Bias], output, a => WindowAttributes(a, c.Window));
                    break;
                case MaxPool2dLayer p:
                    writer.Node("MaxPool", $"pool{i}", [current], output, a => WindowAttributes(a, p.Window));
                    break;
                case AvgPool2dLayer p:
                    writer.Node("AveragePool", $"pool{i}", [current], output, a =>
                    {
                        WindowAttributes(a, p.Window);
                        IntAttribute(a, "count_include_pad", 1);
                    });
                    break;
                case ReluLayer:
                    writer.Node("Relu", $"relu{i}", [current], output);
                    break;
                case FlattenLayer:
                    writer.Node("Flatten", $"flatten{i}", [current], output, a => IntAttribute(a, "axis", 1));
                    break;
                default:
                    throw new ArgumentException($"layer {i} ({layer.Kind}) has no ONNX mapping", nameof(network));
            }
            current = output;
        }
        var outputs = network.OutputShape;
        writer.ValueInfo(GraphProto.Input, "input", network.InputChannels, network.InputHeight, network.InputWidth);
        writer.ValueInfo(GraphProto.Output, "output", outputs.Flat ? [outputs.Channels] : [outputs.Channels, outputs.Height, outputs.Width]);

        var model = new ProtobufWriter();
        model.Int64(ModelProto.IrVersion, IrVersion);
        model.String(ModelProto.ProducerName, "topiary");
        model.String(ModelProto.ProducerVersion, ToolInfo.Version);
        model.Bytes(ModelProto.Graph, writer.graph.ToArray());
        model.Message(ModelProto.OpsetImport, o => o.String(OperatorSetIdProto.Domain, "").Int64(OperatorSetIdProto.Version, OpsetVersion));
        return model.ToArray();
    }

    /// <summary>A float32 initializer.</summary>
    public void Initializer(string name, long[] dims, float[] values) => Initializer(name, dims, ElementType.Float, values);

    /// <summary>An initializer of <paramref name="type"/> holding <paramref name="values"/> as raw_data; empty <paramref name="dims"/> make a scalar.</summary>
    public void Initializer<T>(string name, long[] dims, ElementType type, T[] values) where T : unmanaged =>
        graph.Message(GraphProto.Initializer, t =>
        {
            foreach (var d in dims) t.Int64(TensorProto.Dims, d);
            t.Int64(TensorProto.DataType, (long)type);
            t.String(TensorProto.Name, name);
            t.Bytes(TensorProto.RawData, MemoryMarshal.AsBytes(values.AsSpan()));
        });

    /// <summary>A node of the default domain with one output; <paramref name="attributes"/> adds its attributes.</summary>
    public void Node(string op, string name, string[] inputs, string output, Action<List<Action<ProtobufWriter>>>? attributes = null)
    {
        var list = new List<Action<ProtobufWriter>>();
        attributes?.Invoke(list);
        graph.Message(GraphProto.Node, n =>
        {
            foreach (var input in inputs) n.String(NodeProto.Input, input);
            n.String(NodeProto.Output, output);
            n.String(NodeProto.Name, name);
            n.String(NodeProto.OpType, op);
            foreach (var attribute in list) n.Message(NodeProto.Attribute, attribute);
        });
    }

    /// <summary>An INT attribute.</summary>
    public static void IntAttribute(List<Action<ProtobufWriter>> list, string name, long value) =>
        list.Add(a => a.String(AttributeProto.Name, name).Int64(AttributeProto.I, value).Int64(AttributeProto.Type, AttributeProto.TypeInt));

    private static void IntsAttribute(List<Action<ProtobufWriter>> list, string name, params long[] values) =>
        list.Add(a =>
        {
            a.String(AttributeProto.Name, name);
            foreach (var v in values) a.Int64(AttributeProto.Ints, v);
            a.Int64(AttributeProto.Type, AttributeProto.TypeInts);
        });

    private static void WindowAttributes(List<Action<ProtobufWriter>> list, Window2d window)
    {
        IntsAttribute(list, "kernel_shape", window.KernelHeight, window.KernelWidth);
        IntsAttribute(list, "strides", window.StrideHeight, window.StrideWidth);
        // ONNX pads are [top, left, bottom, right]; PyTorch pads both sides alike.
        IntsAttribute(list, "pads", window.PaddingHeight, window.PaddingWidth, window.PaddingHeight, window.PaddingWidth);
    }

    private void ValueInfo(int field, string name, params int[] dims) =>
        graph.Message(field, v => v
            .String(ValueInfoProto.Name, name)
            .Message(ValueInfoProto.Type, t => t.Message(TypeProto.TensorType, tt => tt
                .Int64(TypeProto.ElemType, (long)ElementType.Float)
                .Message(TypeProto.Shape, s =>
                {
                    s.Message(TensorShapeProto.Dim, d => d.String(TensorShapeProto.DimParam, "batch"));
                    foreach (var dim in dims) s.Message(TensorShapeProto.Dim, d => d.Int64(TensorShapeProto.DimValue, dim));
                }))));
}
