using System.Text;

namespace Topiary.Inference;

/// <summary>
/// Minimal Protocol Buffers encoder (wire format: varint = 0, length-delimited = 2): enough to write ONNX
/// models without a protobuf dependency. Nested messages are encoded into their own buffer first, since a
/// length-delimited field needs its length up front.
/// </summary>
internal sealed class ProtobufWriter
{
    private readonly MemoryStream buffer = new();

    public ProtobufWriter Int64(int field, long value)
    {
        Tag(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    public ProtobufWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtobufWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        buffer.Write(value);
        return this;
    }

    public ProtobufWriter Message(int field, Action<ProtobufWriter> body)
    {
        var nested = new ProtobufWriter();
        body(nested);
        return Bytes(field, nested.buffer.GetBuffer().AsSpan(0, (int)nested.buffer.Length));
    }

    public byte[] ToArray() => buffer.ToArray();

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        buffer.WriteByte((byte)value);
    }
}
