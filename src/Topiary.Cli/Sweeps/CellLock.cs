using System.Globalization;
using Topiary.IO;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// The lock that keeps two runners from running the same cell: <c>cell.lock</c> in the cell's folder, held open with
/// <see cref="FileShare.None"/>, which .NET maps to an advisory <c>flock</c> on Unix. The operating system releases it
/// when the holder exits or is killed, so a crashed runner never leaves a cell locked. (On a cluster the folder must be
/// on a file system with working locks, as NFSv4 and Lustre are.) Beside it, <c>cell.owner</c> says who holds it, for the
/// loser's message.
/// </summary>
internal sealed class CellLock : IDisposable
{
    private const string LockName = "cell.lock";
    private const string OwnerName = "cell.owner";
    private readonly FileStream _stream;

    private CellLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock of the cell in <paramref name="folder"/>, or returns null when another runner holds it.</summary>
    public static CellLock? TryTake(string folder)
    {
        Directory.CreateDirectory(folder);
        if (Open(folder) is not { } stream) return null;
        AtomicFile.WriteAllText(Path.Combine(folder, OwnerName),
            $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)}\n");
        return new CellLock(stream);
    }

    /// <summary>Whether a runner holds the lock of the cell in <paramref name="folder"/> now.</summary>
    public static bool IsHeld(string folder)
    {
        if (!File.Exists(Path.Combine(folder, LockName))) return false;
        using var probe = Open(folder);
        return probe is null;
    }

    private static FileStream? Open(string folder)
    {
        try { return new FileStream(Path.Combine(folder, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return null; }
    }

    /// <summary>Who holds (or last held) the lock, as <c>cell.owner</c> says.</summary>
    public static string Owner(string folder)
    {
        var path = Path.Combine(folder, OwnerName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : "an unknown runner";
    }

    public void Dispose()
    {
        _stream.Dispose();
    }
}
