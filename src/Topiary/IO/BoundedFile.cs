namespace Topiary.IO;

/// <summary>
/// Reads a whole file that one of our readers will verify, refusing sizes it could never hold before allocating,
/// and turning the ways a read can fail into the reader's own one-line error.
/// </summary>
internal static class BoundedFile
{
    /// <summary>
    /// The bytes of <paramref name="path"/>; <paramref name="error"/> builds the exception (from a reason and the
    /// cause) for a missing file, one over <paramref name="maxBytes"/> (described as too large for
    /// <paramref name="kind"/>, e.g. "a checkpoint") or a failed read.
    /// </summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string kind, Func<string, Exception?, Exception> error)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw error("file not found", null);
            if (info.Length > maxBytes) throw error($"file of {info.Length} bytes is too large for {kind}", null);
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"cannot read: {e.Message}", e);
        }
    }
}
