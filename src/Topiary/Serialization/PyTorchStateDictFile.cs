using Topiary.Backend;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// A <c>torch.save(model.state_dict(), path)</c> file: a zip whose folder (the file's stem, or <c>archive</c>) holds
/// <c>data.pkl</c>, the pickle of the dict, read by <see cref="RestrictedUnpickler"/>, and <c>data/{key}</c>, each storage's
/// raw little-endian bytes, which PyTorch stores uncompressed. Each tensor is a strided view of a storage (offset, sizes,
/// strides); several may share one. A storage is read whole, checked against its zip CRC-32, and every tensor on it
/// copied out into its own contiguous memory.
/// </summary>
internal sealed class PyTorchStateDictFile : StateDictSource
{
    private const int MaxPickleBytes = 64 << 20;

    private readonly Stream stream;
    private readonly Func<string, Exception?, Exception> error;
    private readonly ZipArchive zip;
    private readonly List<(string Name, TensorReference Tensor)> tensors;
    private string folder = "";

    /// <summary>Reads the zip's directory and the pickle of the file in <paramref name="stream"/>, which it then owns.</summary>
    public PyTorchStateDictFile(Stream stream, Func<string, Exception?, Exception> error)
    {
        this.stream = stream;
        this.error = error;
        zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        try
        {
            tensors = ReadPickle();
        }
        catch
        {
            zip.Dispose();
            throw;
        }
        Entries = tensors.Select(t => new ModuleStateMatch.Stored(t.Name, t.Tensor.Storage.Type.Type, t.Tensor.Shape)).ToList();
    }

    /// <inheritdoc />
    public override IReadOnlyList<ModuleStateMatch.Stored> Entries { get; }

    // The tensors the pickle describes, in its order; also finds the zip's folder.
    private List<(string Name, TensorReference Tensor)> ReadPickle()
    {
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
            ?? throw error("a zip without <folder>/data.pkl: not a file of torch.save", null);
        folder = pickle.FullName[..^"data.pkl".Length];
        if (zip.GetEntry(folder + "byteorder") is { } byteorder && Encoding.ASCII.GetString(ReadSmall(byteorder, 16)).Trim() != "little")
            throw error("the storages are big-endian; Topiary reads little-endian files", null);
        var dict = RestrictedUnpickler.Load(ReadSmall(pickle, MaxPickleBytes), error) as PickleDict
            ?? throw error("data.pkl holds no dict (save model.state_dict())", null);
        var found = new List<(string Name, TensorReference Tensor)>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name) throw error($"data.pkl: a key of the dict is {Describe(key)}, not a name", null);
            if (value is not TensorReference tensor)
                throw error($"'{name}' is {Describe(value)}, not a tensor{(value is PickleDict ? " (a training checkpoint rather than a state dict? save model.state_dict() on its own)" : "")}", null);
            if (tensor.Problem() is { } problem) throw error($"tensor '{name}' {problem}", null);
            found.Add((name, tensor));
        }
        return found;
    }

    /// <inheritdoc />
    public override Dictionary<string, Tensor> Read(Func<string, bool> wanted)
    {
        var read = new Dictionary<string, Tensor>();
        try
        {
            // One storage at a time in memory, however many tensors share it.
            foreach (var group in tensors.Where(t => wanted(t.Name)).GroupBy(t => t.Tensor.Storage.Key))
            {
                using var storage = ReadStorage(group.First().Tensor.Storage);
                foreach (var (name, tensor) in group)
                {
                    using var view = storage.as_strided(tensor.Shape, tensor.Strides, tensor.Offset);
                    // Own memory either way: clone() of a dense view would keep its strides, contiguous() of a contiguous one would alias.
                    read[name] = view.is_contiguous() ? view.clone() : view.contiguous();
                }
            }
            return tensors.Where(t => read.ContainsKey(t.Name)).ToDictionary(t => t.Name, t => read[t.Name]);
        }
        catch (Exception e)
        {
            foreach (var t in read.Values) t.Dispose();
            if (e is IOException or InvalidDataException) throw error($"cannot read the data: {e.Message}", e);
            throw;
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        zip.Dispose();
        stream.Dispose();
    }

    private Tensor ReadStorage(StorageReference storage)
    {
        var record = $"data/{storage.Key}";
        var entry = zip.GetEntry(folder + record) ?? throw error($"record {record} is missing", null);
        var bytes = storage.Type.ByteCount(storage.Elements);
        // Sizes against the file before any allocation; PyTorch never compresses a storage.
        if (entry.CompressedLength != entry.Length) throw error($"record {record} is compressed; torch.save stores records uncompressed", null);
        if (storage.Elements > stream.Length / (storage.Type.BitsPerElement / 8) || entry.Length != bytes)
            throw error($"record {record} holds {entry.Length} bytes, not the {storage.Elements} elements of {storage.Type.Name} its tensors use", null);
        var checksum = new Crc32();
        using var data = entry.Open();
        var tensor = TensorBytes.Read(data, storage.Type, [storage.Elements], checksum);
        if (checksum.GetCurrentHashAsUInt32() != entry.Crc32)
        {
            tensor.Dispose();
            throw error($"record {record} is damaged (checksum mismatch)", null);
        }
        return tensor;
    }

    private byte[] ReadSmall(ZipArchiveEntry entry, int limit)
    {
        // Stored, it cannot exceed the file; compressed, deflate cannot expand more than 1032-fold.
        var bound = entry.CompressedLength == entry.Length ? stream.Length : entry.CompressedLength * 1032;
        if (entry.Length > limit || entry.Length > bound) throw error($"record {entry.FullName} of {entry.Length} bytes is larger than it can be", null);
        var bytes = new byte[entry.Length];
        using var data = entry.Open();
        data.ReadExactly(bytes);
        return bytes;
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string => "a string",
        long => "an integer",
        double => "a number",
        bool => "a boolean",
        PickleDict => "a dict",
        List<object?> => "a list",
        object?[] => "a tuple",
        _ => "an object of another kind",
    };
}
