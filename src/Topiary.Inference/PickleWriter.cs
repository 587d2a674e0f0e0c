using System.Buffers.Binary;
using System.Text;

namespace Topiary.Inference;

/// <summary>
/// Minimal writer of Python pickle opcodes (protocol 2): enough to describe a PyTorch state dict of tensors
/// without Python. Callers compose objects the way the unpickler's stack machine rebuilds them (push arguments,
/// then REDUCE, TUPLE or SETITEMS). No memo is written: every object is emitted once, so nothing is shared.
/// </summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream buffer = new();

    // Opcodes from Python's pickletools.
    private const byte Proto = 0x80, Global = (byte)'c', Mark = (byte)'(', Tuple = (byte)'t', EmptyTuple = (byte)')',
        Reduce = (byte)'R', SetItems = (byte)'u', BinUnicode = (byte)'X', BinInt = (byte)'J', BinInt1 = (byte)'K',
        BinInt2 = (byte)'M', Long1 = 0x8a, NewFalse = 0x89, BinPersId = (byte)'Q', Stop = (byte)'.';

    /// <summary>Starts a protocol-2 pickle.</summary>
    public PickleWriter() => buffer.Write([Proto, 2]);

    /// <summary>Pushes <c>module.name</c>, resolved by the unpickler's find_class.</summary>
    public PickleWriter PushGlobal(string module, string name)
    {
        buffer.WriteByte(Global);
        buffer.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    /// <summary>Opens a group of items for <see cref="CloseTuple"/> or <see cref="CloseSetItems"/>.</summary>
    public PickleWriter OpenMark() => Op(Mark);

    /// <summary>Turns the items since the last mark into a tuple.</summary>
    public PickleWriter CloseTuple() => Op(Tuple);

    /// <summary>Stores the key/value pairs since the last mark into the dict below the mark.</summary>
    public PickleWriter CloseSetItems() => Op(SetItems);

    /// <summary>Pushes ().</summary>
    public PickleWriter PushEmptyTuple() => Op(EmptyTuple);

    /// <summary>Calls the callable below the top of the stack with the argument tuple on top.</summary>
    public PickleWriter Call() => Op(Reduce);

    /// <summary>Pushes False.</summary>
    public PickleWriter PushFalse() => Op(NewFalse);

    /// <summary>Replaces the object on top by the unpickler's persistent_load(object).</summary>
    public PickleWriter LoadPersistent() => Op(BinPersId);

    /// <summary>Pushes a str (UTF-8).</summary>
    public PickleWriter PushString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        buffer.WriteByte(BinUnicode);
        WriteUInt32((uint)bytes.Length);
        buffer.Write(bytes);
        return this;
    }

    /// <summary>Pushes an int with the shortest encoding, as Python's own pickler chooses it.</summary>
    public PickleWriter PushInt(long value)
    {
        if (value is >= 0 and <= byte.MaxValue)
        {
            buffer.Write([BinInt1, (byte)value]);
        }
        else if (value is >= 0 and <= ushort.MaxValue)
        {
            buffer.WriteByte(BinInt2);
            Span<byte> two = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(two, (ushort)value);
            buffer.Write(two);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            buffer.WriteByte(BinInt);
            WriteUInt32(unchecked((uint)(int)value));
        }
        else
        {
            // LONG1: a length byte, then the little-endian two's complement; 8 bytes always suffice for a long.
            Span<byte> eight = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(eight, value);
            buffer.Write([Long1, 8]);
            buffer.Write(eight);
        }
        return this;
    }

    /// <summary>Ends the pickle and returns its bytes.</summary>
    public byte[] Finish()
    {
        buffer.WriteByte(Stop);
        return buffer.ToArray();
    }

    private PickleWriter Op(byte opcode)
    {
        buffer.WriteByte(opcode);
        return this;
    }

    private void WriteUInt32(uint value)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(four, value);
        buffer.Write(four);
    }
}
