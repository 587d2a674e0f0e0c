using System.Reflection;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// How to start this same <c>topiary</c> again in another process (a local sweep's workers, a Slurm job's command):
/// the executable it runs as (the installed tool's own), or <c>dotnet</c> with the path of its assembly when it runs as
/// <c>dotnet topiary.dll</c> or inside another program (the tests).
/// </summary>
internal static class SelfCommand
{
    /// <summary>The program and the arguments that come before the command's own.</summary>
    public static (string Program, IReadOnlyList<string> Prefix) Resolve()
    {
        var assembly = typeof(CliApp).Assembly;
        var process = Environment.ProcessPath;
        var isDotnetHost = process is null || Path.GetFileNameWithoutExtension(process) == "dotnet";
        if (!isDotnetHost && Assembly.GetEntryAssembly() == assembly) return (process!, []);
        return (isDotnetHost && process is not null ? process : "dotnet", [assembly.Location]);
    }

    /// <summary>The command as one line of a shell script, every word quoted.</summary>
    public static string ShellLine()
    {
        var (program, prefix) = Resolve();
        return string.Join(" ", new[] { program }.Concat(prefix).Select(Quote));
    }

    /// <summary><paramref name="word"/> in single quotes for a POSIX shell.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
}
