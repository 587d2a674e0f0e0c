using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// Models trained elsewhere: a PyTorch state dict, as <c>torch.save(model.state_dict(), "model.pt")</c> (also
/// <c>.pth</c>) or safetensors write it, read without Python and without executing the pickle (only tensors, their
/// storages and OrderedDict are recognised; any other global is refused by name). Tensors keep their dtype (float32,
/// float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool); strided and offset views are copied out.
/// The format is recognised by content. To prune a PyTorch model here, build the same architecture as a TorchSharp
/// module (same attribute names give PyTorch's names) and <see cref="LoadInto"/> it.
/// </summary>
public static class StateDictImport
{
    /// <summary>Every tensor of the file by name, in file order, contiguous, in libtorch's own memory; the caller owns them.</summary>
    /// <exception cref="StateDictException">The file is missing, damaged, of another format, or its pickle names a forbidden global.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var source = StateDictSource.Open(path);
        return source.Read(_ => true);
    }

    /// <summary>
    /// Copies the file's tensors into <paramref name="module"/>'s parameters and buffers by name. Strict by default: every
    /// name of the module must be in the file and every name of the file in the module, with the same shape and a dtype
    /// that converts (floating-point types into one another; integer and bool types only into themselves). The whole file
    /// is checked and read before the module is changed.
    /// </summary>
    /// <param name="module">The module to fill, e.g. the TorchSharp twin of the PyTorch model.</param>
    /// <param name="path">The state dict file.</param>
    /// <param name="ignoreMissing">Leave the module's tensors that the file lacks as they are.</param>
    /// <param name="ignoreUnexpected">Skip the file's tensors that the module lacks.</param>
    /// <exception cref="StateDictException">
    /// The file cannot be read (one line), or does not fit the module: one line per difference, listed in
    /// <see cref="StateDictException.Mismatches"/>.
    /// </exception>
    public static StateDictImportResult LoadInto(nn.Module module, string path, bool ignoreMissing = false, bool ignoreUnexpected = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var source = StateDictSource.Open(path);
        var target = module.state_dict();
        var mismatches = ModuleStateMatch.Compare(target, source.Entries, reportMissing: !ignoreMissing, reportUnexpected: !ignoreUnexpected);
        if (mismatches.Count > 0) throw StateDictException.ForMismatches(path, mismatches);
        var values = source.Read(target.ContainsKey);
        try
        {
            using var _ = no_grad();
            foreach (var (name, value) in values) target[name].copy_(value);
        }
        finally
        {
            foreach (var value in values.Values) value.Dispose();
        }
        return new StateDictImportResult(values.Keys.ToList(), target.Keys.Where(name => !values.ContainsKey(name)).ToList(),
            source.Entries.Select(e => e.Name).Where(name => !target.ContainsKey(name)).ToList());
    }
}
