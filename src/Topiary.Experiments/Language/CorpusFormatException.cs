namespace Topiary.Language;

/// <summary>A corpus file is missing or damaged; the message names the file and what is wrong.</summary>
public sealed class CorpusFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public CorpusFormatException(string path, string reason, Exception? inner = null) : base($"{path}: {reason}", inner)
    {
        Path = path;
    }

    /// <summary>The offending file or directory.</summary>
    public string Path { get; }
}
