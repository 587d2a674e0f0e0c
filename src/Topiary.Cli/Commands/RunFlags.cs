using System.Globalization;

namespace Topiary.Cli.Commands;

/// <summary>The output folder and thread count that every training command (<c>prune</c>, <c>compare</c>) reads alike.</summary>
internal static class RunFlags
{
    public const string Help = """
          --out DIR                   output folder (default runs/<timestamp>)
          --threads N                 libtorch threads (default: all cores)
        """;

    /// <summary><c>--out</c> (default runs/PREFIX&lt;timestamp&gt;) and <c>--threads</c> (default: all cores; at least 1).</summary>
    public static (string OutDirectory, int Threads) Read(ArgumentReader args, string folderPrefix = "")
    {
        var outDirectory = args.String("out") ?? Path.Combine("runs", folderPrefix + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var threads = args.Int("threads", Environment.ProcessorCount);
        if (threads < 1) throw new CliUsageException($"--threads: must be at least 1, got {threads}");
        return (outDirectory, threads);
    }
}
