using Topiary.Backend;
using Topiary.IO;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// An opened PyTorch state dict file, of whichever format its first bytes say: <c>torch.save</c>'s zip
/// (<see cref="PyTorchStateDictFile"/>) or safetensors (<see cref="SafetensorsStateDictFile"/>). The names, dtypes and
/// shapes are known on opening; the data is read only for the names asked for.
/// </summary>
internal abstract class StateDictSource : IDisposable
{
    /// <summary>The tensors in file order.</summary>
    public abstract IReadOnlyList<ModuleStateMatch.Stored> Entries { get; }

    /// <summary>The tensors whose names <paramref name="wanted"/> accepts, in file order, contiguous, in new libtorch memory owned by the caller.</summary>
    /// <exception cref="StateDictException">The data is damaged or unreadable.</exception>
    public abstract Dictionary<string, Tensor> Read(Func<string, bool> wanted);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>Opens <paramref name="path"/>, recognising the format by content, not by extension.</summary>
    /// <exception cref="StateDictException">The file is missing, of neither format, or damaged.</exception>
    public static StateDictSource Open(string path)
    {
        Exception Error(string reason, Exception? cause) => new StateDictException(path, reason, cause);
        var stream = ReadableFile.Open(path, Error);
        try
        {
            Span<byte> start = stackalloc byte[9];
            var read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
            stream.Position = 0;
            if (read >= 4 && start[..4].SequenceEqual("PK\x03\x04"u8)) return new PyTorchStateDictFile(stream, Error);
            // The format before PyTorch 1.6 (and _use_new_zipfile_serialization=False): a pickle that starts with a magic number.
            if (read >= 4 && start[0] == 0x80 && start[1] == 2 && start[2] == 0x8a && start[3] == 0x0a)
                throw Error("a torch.save file in the format before PyTorch 1.6: load it in PyTorch and save it again with torch.save (or as safetensors)", null);
            if (read == 9 && start[8] == (byte)'{') return new SafetensorsStateDictFile(stream, Error);
            throw Error("neither a PyTorch zip (.pt, .pth from torch.save) nor a safetensors file", null);
        }
        catch (Exception e)
        {
            stream.Dispose();
            if (e is IOException or InvalidDataException) throw Error($"cannot read: {e.Message}", e);
            throw;
        }
    }
}
