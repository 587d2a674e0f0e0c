using System.Security.Cryptography;
using System.Text;

namespace Topiary.IO;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a partial file:
/// the data goes to a temporary file in the same directory (<c>.{name}.tmp-{random}</c>), is flushed to disk,
/// and then replaces the target with a rename. If writing fails, the temporary file is deleted and the target is untouched.
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="text"/>, encoded as UTF-8 without a byte-order mark.</summary>
    /// <param name="path">The file to write; its parent directory is created if missing.</param>
    /// <param name="text">The complete new content.</param>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, Utf8NoBom.GetBytes(text));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    /// <param name="path">The file to write; its parent directory is created if missing.</param>
    /// <param name="bytes">The complete new content.</param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var (target, temp) = Prepare(path);
        try
        {
            using (var stream = CreateTemp(temp))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with whatever <paramref name="writer"/> writes to the stream it is given.
    /// The stream must not be disposed by the writer. If the writer throws, the target keeps its old content
    /// (or stays absent) and the exception propagates.
    /// </summary>
    /// <param name="path">The file to write; its parent directory is created if missing.</param>
    /// <param name="writer">Writes the complete new content to the stream.</param>
    public static void Write(string path, Action<Stream> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var (target, temp) = Prepare(path);
        try
        {
            using (var stream = CreateTemp(temp))
            {
                writer(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static (string Target, string Temp) Prepare(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var target = Path.GetFullPath(path);
        var name = Path.GetFileName(target);
        if (name.Length == 0)
        {
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        }
        var directory = Path.GetDirectoryName(target)
            ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        Directory.CreateDirectory(directory);
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        return (target, Path.Combine(directory, $".{name}.tmp-{suffix}"));
    }

    private static FileStream CreateTemp(string temp) =>
        new(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 81920, FileOptions.None);

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: the original exception matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
