using System.Runtime.InteropServices;
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
    private const long IrVersion = 8;
    private const long OpsetVersion = 13;

    // onnx.proto field numbers.
    private static class ModelProto { public const int IrVersion = 1, ProducerName = 2, ProducerVersion = 3, Graph = 7, OpsetImport = 8; }
    private static class OperatorSetIdProto { public const int Domain = 1, Version = 2; }
    private static class GraphProto { public const int Node = 1, Name = 2, Initializer = 5, Input = 11, Output = 12; }
    private static class NodeProto { public const int Input = 1, Output = 2, Name = 3, OpType = 4, Attribute = 5; }
    private static class AttributeProto { public const int Name = 1, I = 3, Ints = 8, Type = 20, TypeInt = 2, TypeInts = 7; }
    private static class TensorProto { public const int Dims = 1, DataType = 2, Name = 8, RawData = 9, Float = 1; }
    private static class ValueInfoProto { public const int Name = 1, Type = 2; }
    private static class TypeProto { public const int TensorType = 1, ElemType = 1, Shape = 2; }
    private static class TensorShapeProto { public const int Dim = 1, DimValue = 1, DimParam = 2; }

    /// <summary>Writes the model atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, SequentialNetwork network) => AtomicFile.WriteAllBytes(path, Encode(network));

    /// <summary>The serialized ModelProto.</summary>
    public static byte[] Encode(SequentialNetwork network)
    {
        var shapes = network.Shapes();
        var graph = new ProtobufWriter();
        graph.String(GraphProto.Name, "topiary");
        var current = "input";
        for (var i = 0; i < network.Layers.Count; i++)
        {
            var output = i == network.Layers.Count - 1 ? "output" : $"x{i}";
            var layer = network.Layers[i];
            switch (layer)
            {
                case LinearLayer l:
                    Initializer(graph, $"{l.Name}.weight", new long[] { l.OutFeatures, l.InFeatures }, l.Weight);
                    Initializer(graph, $"{l.Name}.bias", new long[] { l.OutFeatures }, l.Bias);
                    Node(graph, "Gemm", l.Name, new[] { current, $"{l.Name}.weight", $"{l.Name}.bias" }, output, a => IntAttribute(a, "transB", 1));
                    break;
                case Conv2dLayer c:
                    Initializer(graph, $"{c.Name}.weight", c.WeightShape, c.Weight);
                    Initializer(graph, $"{c.Name}.bias", new long[] { c.OutChannels }, c.Bias);
                    Node(graph, "Conv", c.Name, new[] { current, $"{c.Name}.weight", $"{c.Name}.bias" }, output, a => WindowAttributes(a, c.Window));
                    break;
                case MaxPool2dLayer p:
                    Node(graph, "MaxPool", $"pool{i}", new[] { current }, output, a => WindowAttributes(a, p.Window));
                    break;
                case AvgPool2dLayer p:
                    Node(graph, "AveragePool", $"pool{i}", new[] { current }, output, a =>
                    {
                        WindowAttributes(a, p.Window);
                        IntAttribute(a, "count_include_pad", 1);
                    });
                    break;
                case ReluLayer:
                    Node(graph, "Relu", $"relu{i}", new[] { current }, output, _ => { });
                    break;
                case FlattenLayer:
                    Node(graph, "Flatten", $"flatten{i}", new[] { current }, output, a => IntAttribute(a, "axis", 1));
                    break;
                default:
                    throw new ArgumentException($"layer {i} ({layer.Kind}) has no ONNX mapping", nameof(network));
            }
            current = output;
        }
        var outputs = network.OutputShape;
        ValueInfo(graph, GraphProto.Input, "input", network.InputChannels, network.InputHeight, network.InputWidth);
        ValueInfo(graph, GraphProto.Output, "output", outputs.Flat ? new[] { outputs.Channels } : new[] { outputs.Channels, outputs.Height, outputs.Width });


        var model = new ProtobufWriter();
        model.Int64(ModelProto.IrVersion, IrVersion);
        model.String(ModelProto.ProducerName, "topiary");
        model.String(ModelProto.ProducerVersion, ToolInfo.Version);
        model.Bytes(ModelProto.Graph, graph.ToArray());
        model.Message(ModelProto.OpsetImport, o => o.String(OperatorSetIdProto.Domain, "").Int64(OperatorSetIdProto.Version, OpsetVersion));
        return model.ToArray();
    }

    private static void Initializer(ProtobufWriter graph, string name, long[] dims, float[] values) =>
        graph.Message(GraphProto.Initializer, t =>
        {
            foreach (var d in dims) t.Int64(TensorProto.Dims, d);
            t.Int64(TensorProto.DataType, TensorProto.Float);
            t.String(TensorProto.Name, name);
            // raw_data is little-endian, as .NET on every platform it runs TorchSharp on.
            t.Bytes(TensorProto.RawData, MemoryMarshal.AsBytes(values.AsSpan()));
        });

    private static void Node(ProtobufWriter graph, string op, string name, string[] inputs, string output, Action<List<Action<ProtobufWriter>>> attributes)
    {
        var list = new List<Action<ProtobufWriter>>();
        attributes(list);
        graph.Message(GraphProto.Node, n =>
        {
            foreach (var input in inputs) n.String(NodeProto.Input, input);
            n.String(NodeProto.Output, output);
            n.String(NodeProto.Name, name);
            n.String(NodeProto.OpType, op);
            foreach (var attribute in list) n.Message(NodeProto.Attribute, attribute);
        });
    }

    private static void WindowAttributes(List<Action<ProtobufWriter>> list, Window2d window)
    {
        IntsAttribute(list, "kernel_shape", window.KernelHeight, window.KernelWidth);
        IntsAttribute(list, "strides", window.StrideHeight, window.StrideWidth);
        // ONNX pads are [top, left, bottom, right]; PyTorch pads both sides alike.
        IntsAttribute(list, "pads", window.PaddingHeight, window.PaddingWidth, window.PaddingHeight, window.PaddingWidth);
    }

    private static void IntAttribute(List<Action<ProtobufWriter>> list, string name, long value) =>
        list.Add(a => a.String(AttributeProto.Name, name).Int64(AttributeProto.I, value).Int64(AttributeProto.Type, AttributeProto.TypeInt));

    private static void IntsAttribute(List<Action<ProtobufWriter>> list, string name, params long[] values) =>
        list.Add(a =>
        {
            a.String(AttributeProto.Name, name);
            foreach (var v in values) a.Int64(AttributeProto.Ints, v);
            a.Int64(AttributeProto.Type, AttributeProto.TypeInts);
        });

    private static void ValueInfo(ProtobufWriter graph, int field, string name, params int[] dims) =>
        graph.Message(field, v => v
            .String(ValueInfoProto.Name, name)
            .Message(ValueInfoProto.Type, t => t.Message(TypeProto.TensorType, tt => tt
                .Int64(TypeProto.ElemType, TensorProto.Float)
                .Message(TypeProto.Shape, s =>
                {
                    s.Message(TensorShapeProto.Dim, d => d.String(TensorShapeProto.DimParam, "batch"));
                    foreach (var dim in dims) s.Message(TensorShapeProto.Dim, d => d.Int64(TensorShapeProto.DimValue, dim));
                }))));
}
