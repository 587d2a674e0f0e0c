namespace Topiary.IO;

/// <summary>
/// Opens a file that one of our readers will stream and verify, turning the ways an open can fail into the reader's
/// own one-line error (as <see cref="BoundedFile"/> does for readers that take the whole file at once).
/// </summary>
internal static class ReadableFile
{
    /// <summary>
    /// A read-only stream of <paramref name="path"/>; <paramref name="error"/> builds the exception, from a reason and the
    /// cause, for a missing or unreadable file.
    /// </summary>
    public static FileStream Open(string path, Func<string, Exception?, Exception> error)
    {
        try
        {
            if (!File.Exists(path)) throw error("file not found", null);
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"cannot read: {e.Message}", e);
        }
    }
}
