using System.Text.Json.Nodes;
using Topiary.IO;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Checkpoints;

/// <summary>
/// The container of a training checkpoint (<c>.ckpt</c>): magic "TOPCKPT\0", then format version 2
/// (<see cref="TensorContainer"/>): a JSON header <c>{"state": …, "tensors": [{"name", "dtype", "shape"}]}</c>, then each
/// tensor in its own dtype (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool), each section
/// with its CRC-32. Written and read as a stream with 64-bit sizes: no size limit, and no copy of the tensors in managed
/// memory. Version-1 files (float32 only, one checksum) still load. The reader trusts nothing: every size in the header
/// is checked against the file's real length before anything is allocated, and damage surfaces as a one-line
/// <see cref="CheckpointException"/>.
/// </summary>
public static class CheckpointFile
{
    private static readonly byte[] Magic = "TOPCKPT\0"u8.ToArray();
    private const string Kind = "a Topiary checkpoint";

    /// <summary>
    /// Writes <paramref name="state"/> and <paramref name="tensors"/> (each in its own dtype, in the order given) to
    /// <paramref name="path"/> atomically (temporary file, flush to disk, rename), streaming the tensors' memory to disk.
    /// </summary>
    /// <exception cref="ArgumentException">A name appears twice, or a tensor's dtype cannot be stored (complex).</exception>
    public static void Write(string path, JsonObject state, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var items = Items(tensors);
        var header = Header(state);
        AtomicFile.Write(path, stream => TensorContainer.Write(stream, Magic, header, items));
    }

    /// <summary>The bytes <see cref="Write(string, JsonObject, IEnumerable{KeyValuePair{string, Tensor}})"/> would write, held in memory (for rollback without a disk).</summary>
    /// <exception cref="ArgumentException">As <c>Write</c>, or the checkpoint is larger than one array can hold (write it to a file instead).</exception>
    public static byte[] Serialize(JsonObject state, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var items = Items(tensors);
        var header = Header(state);
        var (_, size) = TensorContainer.Layout(header, items);
        if (size > Array.MaxLength)
            throw new ArgumentException($"a checkpoint of {size} bytes does not fit in one array; write it to a file with CheckpointFile.Write(path, state, tensors)", nameof(tensors));
        var bytes = new byte[size];
        using var stream = new MemoryStream(bytes);
        TensorContainer.Write(stream, Magic, header, items);
        return bytes;
    }

    /// <summary>
    /// The file <see cref="Write(string, JsonObject, IEnumerable{KeyValuePair{string, Tensor}})"/> would write, encoded now
    /// into chunks of managed memory (any size), so that another thread can put it on disk without touching libtorch.
    /// </summary>
    internal static ChunkedBuffer Encode(JsonObject state, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var items = Items(tensors);
        var header = Header(state);
        var buffer = new ChunkedBuffer();
        TensorContainer.Write(buffer, Magic, header, items);
        return buffer;
    }

    /// <summary>Writes what <see cref="Encode"/> produced, atomically (temporary file, flush to disk, rename).</summary>
    internal static void Write(string path, ChunkedBuffer encoded) => AtomicFile.Write(path, encoded.CopyAllTo);

    /// <summary>Writes an encoded checkpoint atomically (temporary file, flush to disk, rename).</summary>
    public static void Write(string path, byte[] encoded) => AtomicFile.WriteAllBytes(path, encoded);

    /// <summary>Reads and verifies a checkpoint file (version 1 or 2), streaming: the tensors come back in their stored dtypes, in libtorch's own memory, owned by the caller.</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable or damaged.</exception>
    public static (JsonObject State, Dictionary<string, Tensor> Tensors) Read(string path)
    {
        Exception Error(string reason, Exception? cause) => new CheckpointException(path, reason, cause);
        return ReadFrom(ReadableFile.Open(path, Error), Error);
    }

    /// <summary>Decodes a checkpoint held in memory (version 1 or 2); <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">The bytes are not a valid checkpoint.</exception>
    public static (JsonObject State, Dictionary<string, Tensor> Tensors) Parse(string source, byte[] bytes) =>
        ReadFrom(new MemoryStream(bytes, writable: false), (reason, cause) => new CheckpointException(source, reason, cause));

    private static (JsonObject State, Dictionary<string, Tensor> Tensors) ReadFrom(Stream stream, Func<string, Exception?, Exception> error)
    {
        using var reader = TensorContainer.OpenAnyVersion(stream, Magic, Kind, error, CheckpointFormatV1.Open);
        // Detached from the header, so that the caller may put it into another document.
        if (!reader.Header.Remove("state", out var node) || node is not JsonObject state) throw error("header has no 'state' object", null);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in reader.Entries) tensors[entry.Name] = reader.Read(entry);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (state, tensors);
    }

    private static JsonObject Header(JsonObject state) => new() { ["format"] = "topiary-checkpoint", ["state"] = state.DeepClone() };

    // Boolean tensors (masks) are stored as bits: an eighth of their bytes, and they read back as bool.
    private static List<TensorContainer.Item> Items(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        tensors.Select(t => new TensorContainer.Item(t.Key, t.Value, AsBits: t.Value.dtype == ScalarType.Bool)).ToList();
}
