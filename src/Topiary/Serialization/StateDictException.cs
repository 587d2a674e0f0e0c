namespace Topiary.Serialization;

/// <summary>
/// A PyTorch state dict (<c>.pt</c>, <c>.pth</c>, <c>.safetensors</c>) cannot be read, or does not fit the module it
/// is loaded into. A file that cannot be read gives one line, <c>"{FilePath}: {Reason}"</c>. A file that does not fit
/// gives one line per difference (each <c>"{FilePath}: {difference}"</c>), also listed in <see cref="Mismatches"/>.
/// </summary>
public sealed class StateDictException : Exception
{
    /// <summary>A file that cannot be read: missing, damaged, of another format, or naming what a state dict never needs.</summary>
    public StateDictException(string filePath, string reason, Exception? inner = null)
        : base($"{filePath}: {reason.ReplaceLineEndings(" ")}", inner)
    {
        FilePath = filePath;
        Reason = reason.ReplaceLineEndings(" ");
    }

    private StateDictException(string filePath, IReadOnlyList<string> mismatches)
        : base(string.Join('\n', mismatches.Select(m => $"{filePath}: {m}")))
    {
        FilePath = filePath;
        Reason = $"{mismatches.Count} {(mismatches.Count == 1 ? "tensor does" : "tensors do")} not match the module";
        Mismatches = mismatches;
    }

    /// <summary>The state dict file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, in one line.</summary>
    public string Reason { get; }

    /// <summary>When the file does not fit the module: every name missing on either side, other shape or dtype, one line each; empty otherwise.</summary>
    public IReadOnlyList<string> Mismatches { get; } = [];

    /// <summary>The error for a readable file that does not fit the module.</summary>
    internal static StateDictException ForMismatches(string filePath, IReadOnlyList<string> mismatches) => new(filePath, mismatches);
}
