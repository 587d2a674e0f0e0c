using System.Runtime.InteropServices;
using System.Text;

namespace Topiary.Tests.Deployment;

/// <summary>
/// Reads back the nodes and initializers of an ONNX model with a protobuf decoder of its own (varint, 64-bit,
/// length-delimited and 32-bit fields), independent of the exporters' encoder, so the tests can check what a file holds.
/// </summary>
internal sealed class OnnxModelReader
{
    public sealed record Initializer(string Name, long[] Dims, int DataType, byte[] Raw)
    {
        public T[] Values<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Raw).ToArray();
    }

    public sealed record Node(string OpType, string Name, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyDictionary<string, long> IntAttributes);

    public const int Float = 1, UInt8 = 2, Int8 = 3, Int32 = 6;

    public OnnxModelReader(byte[] model)
    {
        foreach (var (field, _, graph) in Fields(model))
        {
            if (field != 7) continue;
            foreach (var (graphField, _, body) in Fields(graph))
            {
                if (graphField == 1) Nodes.Add(ReadNode(body));
                else if (graphField == 5) Initializers.Add(ReadInitializer(body));
            }
        }
    }

    public List<Node> Nodes { get; } = new();
    public List<Initializer> Initializers { get; } = new();

    public Initializer this[string name] => Initializers.Single(i => i.Name == name);

    private static Node ReadNode(byte[] body)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, long>();
        string op = "", name = "";
        foreach (var (field, _, bytes) in Fields(body))
        {
            switch (field)
            {
                case 1: inputs.Add(Encoding.UTF8.GetString(bytes)); break;
                case 2: outputs.Add(Encoding.UTF8.GetString(bytes)); break;
                case 3: name = Encoding.UTF8.GetString(bytes); break;
                case 4: op = Encoding.UTF8.GetString(bytes); break;
                case 5:
                    var attributeName = Encoding.UTF8.GetString(Fields(bytes).Single(f => f.Field == 1).Bytes);
                    if (Fields(bytes).FirstOrDefault(f => f.Field == 3) is { Bytes: not null } i) attributes[attributeName] = i.Value;
                    break;
            }
        }
        return new Node(op, name, inputs, outputs, attributes);
    }

    private static Initializer ReadInitializer(byte[] body)
    {
        var dims = new List<long>();
        int type = 0;
        string name = "";
        byte[] raw = [];
        foreach (var (field, value, bytes) in Fields(body))
        {
            switch (field)
            {
                case 1: dims.Add(value); break;
                case 2: type = (int)value; break;
                case 8: name = Encoding.UTF8.GetString(bytes); break;
                case 9: raw = bytes; break;
            }
        }
        return new Initializer(name, dims.ToArray(), type, raw);
    }

    /// <summary>The fields of a message: a varint's value, or a length-delimited field's bytes (fixed-width fields as bytes too).</summary>
    private static List<(int Field, long Value, byte[] Bytes)> Fields(byte[] message)
    {
        var fields = new List<(int, long, byte[])>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    fields.Add((field, (long)Varint(message, ref position), []));
                    break;
                case 1:
                    fields.Add((field, 0, message[position..(position + 8)]));
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    fields.Add((field, 0, message[position..(position + length)]));
                    position += length;
                    break;
                case 5:
                    fields.Add((field, 0, message[position..(position + 4)]));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7} at byte {position}");
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }
}
