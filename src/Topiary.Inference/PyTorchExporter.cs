using System.Runtime.InteropServices;
using System.Text;
using Topiary.IO;

namespace Topiary.Inference;

/// <summary>
/// Writes a network's parameters as a PyTorch state dict in <c>torch.save</c>'s zip format, for
/// <c>model.load_state_dict(torch.load(path))</c>: an archive folder holding <c>data.pkl</c> (a protocol-2 pickle of
/// a <c>collections.OrderedDict</c> from PyTorch's names, <c>conv1.weight</c>, <c>fc1.bias</c>, …, to float32 tensors),
/// <c>data/0</c>, <c>data/1</c>, … (each tensor's raw little-endian storage), <c>byteorder</c> ("little") and
/// <c>version</c> ("3"). Entries are stored uncompressed, their data 64-byte aligned, as PyTorch writes them.
/// Each tensor is pickled as <c>torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())</c>
/// with the storage a persistent id <c>('storage', torch.FloatStorage, key, 'cpu', numel)</c>. Pruned entries are
/// stored as zeros. The names are those of <see cref="SequentialNetwork.Parameters"/>, as in <see cref="SafetensorsExporter"/>:
/// for a user's <c>nn.Sequential</c> (<see cref="SequentialNetworks.FromSequential"/>) the Sequential's own, <c>0.weight</c>,
/// <c>4.bias</c>, …, where a BatchNorm's entries are missing because the layer before it carries them folded in, so
/// the file loads into the model with its BatchNorm layers removed (or replaced by <c>nn.Identity</c>).
/// </summary>
public static class PyTorchExporter
{
    /// <summary>The folder inside the zip, the one <c>torch.save</c> uses when it writes to a stream.</summary>
    public const string ArchiveName = "archive";

    /// <summary>Writes the file atomically.</summary>
    /// <exception cref="PlatformNotSupportedException">On a big-endian machine (the storages must be little-endian).</exception>
    public static void Save(string path, SequentialNetwork network)
    {
        // The storages are written straight from memory; PyTorch reads them as the byteorder record says.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("PyTorch export needs a little-endian machine");
        var parameters = network.Parameters().ToList();
        var pickle = StateDictPickle(parameters);
        AtomicFile.Write(path, stream =>
        {
            var zip = new AlignedZipWriter(stream);
            zip.Add($"{ArchiveName}/data.pkl", pickle);
            zip.Add($"{ArchiveName}/byteorder", "little"u8);
            for (var key = 0; key < parameters.Count; key++)
                zip.Add($"{ArchiveName}/data/{key}", MemoryMarshal.AsBytes(parameters[key].Values.AsSpan()));
            // PyTorch's own writer ends the record with a newline; its reader parses the number.
            zip.Add($"{ArchiveName}/version", Encoding.ASCII.GetBytes("3\n"));
            zip.Finish();
        });
    }

    /// <summary>OrderedDict([(name, tensor), …]) with tensor i backed by the storage record <c>data/i</c>.</summary>
    private static byte[] StateDictPickle(IReadOnlyList<(string Name, long[] Shape, float[] Values)> parameters)
    {
        var pickle = new PickleWriter();
        PushEmptyOrderedDict(pickle);
        pickle.OpenMark();
        for (var key = 0; key < parameters.Count; key++)
        {
            var (name, shape, values) = parameters[key];
            pickle.PushString(name);
            pickle.PushGlobal("torch._utils", "_rebuild_tensor_v2").OpenMark();
            pickle.OpenMark().PushString("storage").PushGlobal("torch", "FloatStorage")
                .PushString(key.ToString(System.Globalization.CultureInfo.InvariantCulture)).PushString("cpu")
                .PushInt(values.Length).CloseTuple().LoadPersistent();
            pickle.PushInt(0);
            PushTuple(pickle, shape);
            PushTuple(pickle, RowMajorStrides(shape));
            pickle.PushFalse();
            PushEmptyOrderedDict(pickle); // backward hooks: none
            pickle.CloseTuple().Call();
        }
        pickle.CloseSetItems();
        return pickle.Finish();
    }

    private static void PushEmptyOrderedDict(PickleWriter pickle) =>
        pickle.PushGlobal("collections", "OrderedDict").PushEmptyTuple().Call();

    private static void PushTuple(PickleWriter pickle, IEnumerable<long> values)
    {
        pickle.OpenMark();
        foreach (var value in values) pickle.PushInt(value);
        pickle.CloseTuple();
    }

    private static long[] RowMajorStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        return strides;
    }
}
