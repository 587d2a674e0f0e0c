namespace Topiary.Serialization;

/// <summary>A model file is missing, damaged or does not match its architecture. The message is one line naming the file.</summary>
public sealed class ModelFileException(string filePath, string reason, Exception? inner = null)
    : Exception($"{filePath}: {reason}", inner)
{
    /// <summary>The file.</summary>
    public string FilePath { get; } = filePath;
    /// <summary>What is wrong with it.</summary>
    public string Reason { get; } = reason;

    /// <summary>
    /// When the file does not fit a module: every difference, one line each (a tensor missing on either side, another
    /// shape or dtype), of which the message names the first. Empty for other errors.
    /// </summary>
    public IReadOnlyList<string> Mismatches { get; init; } = [];
}
