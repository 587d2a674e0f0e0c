namespace Topiary.Data;

/// <summary>
/// An IDX file (or a set of them) is missing, unreadable or inconsistent.
/// The message is one line, <c>"{FilePath}: {Reason}"</c>, so a CLI can print it as is.
/// </summary>
public sealed class IdxFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a one-line, human <paramref name="reason"/>.</summary>
    /// <param name="filePath">The file (or directory) the problem was found in.</param>
    /// <param name="reason">What is wrong, in words; line breaks are flattened to keep the message on one line.</param>
    /// <param name="innerException">The low-level error that revealed the problem, if any.</param>
    public IdxFormatException(string filePath, string reason, Exception? innerException = null)
        : base($"{filePath}: {OneLine(reason)}", innerException)
    {
        FilePath = filePath;
        Reason = OneLine(reason);
    }

    /// <summary>The file (or directory) the problem was found in.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, in words, on one line.</summary>
    public string Reason { get; }

    // Inner exception texts (e.g. from GZipStream) may span lines; a multi-line message would break log/CLI output.
    private static string OneLine(string text) =>
        text.ReplaceLineEndings(" ").Trim();
}
