using System.Buffers.Binary;
using System.Text;

namespace Topiary.Serialization;

/// <summary>
/// Reads the pickle of a PyTorch state dict (<c>data.pkl</c> of a <c>torch.save</c> zip) without executing anything:
/// a stack machine over the binary opcodes of protocols 2 to 5 that builds plain values (None, bool, int, float,
/// str, bytes, tuple, list, dict) and, of all Python, knows only these globals: <c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c> and <c>_rebuild_parameter</c>, and the ten typed storages
/// (<c>torch.FloatStorage</c>, …). Any other global is refused by name the moment the pickle names it. Persistent ids
/// <c>('storage', type, key, location, numel)</c> become <see cref="StorageReference"/>s; rebuilt tensors become
/// <see cref="TensorReference"/>s (whose bounds the caller checks, knowing their names). Every length is checked
/// against the bytes left, so a damaged pickle fails with the caller's one-line error, never a large allocation.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private static readonly Dictionary<string, StoredType> StorageTypes = new()
    {
        ["FloatStorage"] = StoredType.FromName("float32")!, ["DoubleStorage"] = StoredType.FromName("float64")!,
        ["HalfStorage"] = StoredType.FromName("float16")!, ["BFloat16Storage"] = StoredType.FromName("bfloat16")!,
        ["LongStorage"] = StoredType.FromName("int64")!, ["IntStorage"] = StoredType.FromName("int32")!,
        ["ShortStorage"] = StoredType.FromName("int16")!, ["CharStorage"] = StoredType.FromName("int8")!,
        ["ByteStorage"] = StoredType.FromName("uint8")!, ["BoolStorage"] = StoredType.FromName("bool")!,
    };

    private static readonly PickleGlobal OrderedDict = new("collections", "OrderedDict");
    private static readonly PickleGlobal RebuildTensor = new("torch._utils", "_rebuild_tensor_v2");
    private static readonly PickleGlobal RebuildParameter = new("torch._utils", "_rebuild_parameter");

    // The mark of MARK, below the items that TUPLE, LIST, DICT, APPENDS and SETITEMS take.
    private static readonly object Mark = new();

    private readonly byte[] data;
    private readonly Func<string, Exception?, Exception> error;
    private readonly List<object?> stack = [];
    private readonly Dictionary<long, object?> memo = [];
    private readonly Dictionary<string, StorageReference> storages = [];
    private int position;

    private RestrictedUnpickler(byte[] data, Func<string, Exception?, Exception> error)
    {
        this.data = data;
        this.error = error;
    }

    /// <summary>The object the pickle describes.</summary>
    /// <exception cref="Exception">The caller's error: a damaged pickle, an unsupported opcode, or a global not on the list.</exception>
    public static object? Load(byte[] pickle, Func<string, Exception?, Exception> error) => new RestrictedUnpickler(pickle, error).Run();

    private object? Run()
    {
        while (true)
        {
            var at = position;
            var opcode = ReadByte();
            switch (opcode)
            {
                case 0x80: ReadByte(); break; // PROTO n
                case 0x95: Take(8); break; // FRAME: a length hint
                case (byte)'.': return stack.Count == 1 ? stack[0] : throw Fail($"the pickle ends with {stack.Count} objects on its stack instead of 1");
                case (byte)'(': stack.Add(Mark); break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopToMark(); break;
                case (byte)'2': stack.Add(Peek()); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)ReadByte()); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add(ReadLong(ReadByte())); break;
                case 0x8b: stack.Add(ReadLong(Length(4))); break;
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': stack.Add(Text(Length(4))); break;
                case 0x8c: stack.Add(Text(ReadByte())); break;
                case 0x8d: stack.Add(Text(Length(8))); break;
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(Length(4)))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(ReadByte()))); break;
                case (byte)'B': stack.Add(Take(Length(4)).ToArray()); break;
                case (byte)'C': stack.Add(Take(ReadByte()).ToArray()); break;
                case 0x8e: stack.Add(Take(Length(8)).ToArray()); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case (byte)'t': stack.Add(PopToMark().ToArray()); break;
                case 0x85: stack.Add(PopMany(1)); break;
                case 0x86: stack.Add(PopMany(2)); break;
                case 0x87: stack.Add(PopMany(3)); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'l': stack.Add(PopToMark()); break;
                case (byte)'a': Append([Pop()]); break;
                case (byte)'e': Append(PopToMark()); break;
                case (byte)'}': stack.Add(new PickleDict()); break;
                case (byte)'d': stack.Add(DictOf(PopToMark())); break;
                case (byte)'s': SetItems(PopMany(2)); break;
                case (byte)'u': SetItems(PopToMark()); break;
                case (byte)'c': stack.Add(Allowed(new PickleGlobal(Line(), Line()))); break;
                case 0x93:
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (name is null || module is null) throw Fail("STACK_GLOBAL without a module and name");
                    stack.Add(Allowed(new PickleGlobal(module, name)));
                    break;
                case (byte)'R':
                    var arguments = Pop() as object?[] ?? throw Fail("REDUCE without an argument tuple");
                    stack.Add(Call(Pop(), arguments));
                    break;
                case (byte)'b': Build(Pop(), Peek()); break;
                case (byte)'q': memo[ReadByte()] = Peek(); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: memo[memo.Count] = Peek(); break;
                case (byte)'h': stack.Add(Memo(ReadByte())); break;
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'Q': stack.Add(PersistentLoad(Pop())); break;
                default:
                    throw Fail($"unsupported pickle opcode 0x{opcode:x2} at byte {at} (a state dict needs none)");
            }
        }
    }

    private object Allowed(PickleGlobal global)
    {
        if (global == OrderedDict || global == RebuildTensor || global == RebuildParameter) return global;
        if (global.Module == "torch" && StorageTypes.ContainsKey(global.Name)) return global;
        throw Fail($"the pickle names the global '{global}', which a state dict never needs: refused (only tensors, their storages and OrderedDict are read, nothing is executed)");
    }

    private object? Call(object? callee, object?[] arguments)
    {
        var callable = callee as PickleGlobal;
        if (callable == OrderedDict)
        {
            var dict = new PickleDict();
            if (arguments.Length == 1 && arguments[0] is List<object?> pairs)
                foreach (var pair in pairs) SetPair(dict, pair);
            else if (arguments.Length != 0) throw Fail("OrderedDict called with arguments other than a list of pairs");
            return dict;
        }
        if (callable == RebuildTensor) return RebuildTensorView(arguments);
        if (callable == RebuildParameter)
            return arguments is [TensorReference tensor, bool, ..] ? tensor : throw Fail("_rebuild_parameter called without a tensor");
        throw Fail($"the pickle calls {callee ?? "None"}, which cannot be called here");
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    private TensorReference RebuildTensorView(object?[] a)
    {
        if (a.Length is < 6 or > 7 || a[0] is not StorageReference storage || a[1] is not long offset
            || a[2] is not object?[] size || a[3] is not object?[] stride || a[4] is not bool || a[5] is not PickleDict)
            throw Fail("_rebuild_tensor_v2 called with arguments that are not (storage, offset, size, stride, requires_grad, hooks)");
        // The neg and conj bits of a lazily negated or conjugated view would change the values; plain tensors have neither.
        if (a.Length == 7 && (a[6] is not PickleDict metadata || metadata.Items.Any(i => i.Value is not false)))
            throw Fail("a tensor carries metadata (a neg or conj bit): resolve it before saving (tensor.resolve_neg(), tensor.resolve_conj())");
        var shape = Integers(size, "size");
        var strides = Integers(stride, "stride");
        if (shape.Length != strides.Length) throw Fail($"a tensor has {shape.Length} sizes but {strides.Length} strides");
        return new TensorReference(storage, offset, shape, strides);
    }

    // ('storage', torch.FloatStorage, key, location, numel): where the data is; the location (cpu, cuda:0) does not matter here.
    private StorageReference PersistentLoad(object? id)
    {
        if (id is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not PickleGlobal type || !StorageTypes.TryGetValue(type.Name, out var stored)
            || t[2] is not string key || t[3] is not string || t[4] is not long elements || elements < 0)
            throw Fail("a persistent id is not ('storage', type, key, location, numel)");
        if (key.Length == 0 || key.Length > 64 || key.Any(ch => !char.IsAsciiLetterOrDigit(ch) && ch != '_'))
            throw Fail($"storage key '{key}' is not a record name");
        var reference = new StorageReference(key, stored, elements);
        if (storages.TryGetValue(key, out var earlier) && earlier != reference) throw Fail($"storage '{key}' is described twice, differently");
        storages[key] = reference;
        return reference;
    }

    private void Build(object? state, object? target)
    {
        // An OrderedDict state_dict carries its '_metadata' (module versions) as instance state: not needed.
        if (target is not PickleDict || state is not PickleDict) throw Fail("BUILD of something other than a dict's attributes");
    }

    // APPEND and APPENDS: the items were popped; the list is now on top.
    private void Append(List<object?> items)
    {
        if (Peek() is not List<object?> list) throw Fail("APPEND to something that is not a list");
        list.AddRange(items);
    }

    // SETITEM and SETITEMS: the keys and values were popped; the dict is now on top.
    private void SetItems(IReadOnlyList<object?> keysAndValues)
    {
        if (Peek() is not PickleDict dict || keysAndValues.Count % 2 != 0) throw Fail("SETITEMS on something that is not a dict");
        for (var i = 0; i < keysAndValues.Count; i += 2) dict.Set(keysAndValues[i], keysAndValues[i + 1]);
    }

    private PickleDict DictOf(List<object?> keysAndValues)
    {
        if (keysAndValues.Count % 2 != 0) throw Fail("DICT with a key without a value");
        var dict = new PickleDict();
        for (var i = 0; i < keysAndValues.Count; i += 2) dict.Set(keysAndValues[i], keysAndValues[i + 1]);
        return dict;
    }

    private void SetPair(PickleDict dict, object? pair)
    {
        IReadOnlyList<object?>? items = pair switch { object?[] tuple => tuple, List<object?> list => list, _ => null };
        if (items is not { Count: 2 }) throw Fail("OrderedDict called with an item that is not a pair");
        dict.Set(items[0], items[1]);
    }

    private long[] Integers(object?[] values, string what) =>
        values.Select(v => v as long? ?? throw Fail($"a tensor's {what} holds something other than integers")).ToArray();

    private object? Memo(long key) => memo.TryGetValue(key, out var value) ? value : throw Fail($"memo entry {key} is read before it is written");

    private object? Pop()
    {
        var value = Peek();
        if (value == Mark) throw Fail("an opcode takes the mark as an object");
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek(int below = 0) =>
        stack.Count > below ? stack[stack.Count - 1 - below] : throw Fail("an opcode takes more objects than the stack holds");

    private object?[] PopMany(int count)
    {
        var values = new object?[count];
        for (var i = count - 1; i >= 0; i--) values[i] = Pop();
        return values;
    }

    private List<object?> PopToMark()
    {
        var mark = stack.LastIndexOf(Mark);
        if (mark < 0) throw Fail("an opcode needs a mark and there is none");
        var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    private long ReadLong(long length)
    {
        // Two's complement, little-endian; a state dict's integers (sizes, offsets) fit in 64 bits.
        if (length > 8) throw Fail($"an integer of {length} bytes is larger than any size");
        var bytes = Take((int)length);
        long value = 0;
        for (var i = bytes.Length - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0) value -= 1L << (8 * bytes.Length);
        return value;
    }

    private string Text(long length) => Encoding.UTF8.GetString(Take(length));

    private string Line()
    {
        var end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0 || end - position > 256) throw Fail("a global's name has no end");
        var text = Encoding.UTF8.GetString(data, position, end - position);
        position = end + 1;
        return text;
    }

    private long Length(int bytes)
    {
        var field = Take(bytes);
        var length = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(field) : BinaryPrimitives.ReadInt64LittleEndian(field);
        return length;
    }

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > data.Length - position) throw Fail($"the pickle ends inside an opcode (at byte {position})");
        var span = data.AsSpan(position, (int)count);
        position += (int)count;
        return span;
    }

    private Exception Fail(string reason) => error($"data.pkl: {reason}", null);
}
