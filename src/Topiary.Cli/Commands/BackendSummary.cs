using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Backend;

namespace Topiary.Cli.Commands;

/// <summary>Readies libtorch for a command and says, in one line on standard output, what it runs on.</summary>
internal static class BackendSummary
{
    /// <summary>Sets libtorch's thread count, then runs the start-up checks (conv self-check, oneDNN fallback).</summary>
    public static BackendStatus Start(int threads, ILogger logger)
    {
        TorchBackend.SetThreads(threads);
        return TorchBackend.EnsureVerified(logger);
    }

    /// <summary>
    /// The line every training command prints under its heading: it carries what the self-check found (oneDNN off
    /// and why, on CPUs where its convolutions are wrong), so that errors on standard error stay one line.
    /// </summary>
    public static string Line(BackendStatus backend, int threads) =>
        $"backend: libtorch {backend.TorchVersion}, {backend.OneDnnSummary}, {threads} {(threads == 1 ? "thread" : "threads")}, " +
        $"conv self-check {backend.Outcome.Name()} ({backend.MaxRelativeError.ToString("G2", CultureInfo.InvariantCulture)}" +
        $"{(backend.CachedIn is null ? "" : ", cached")}), kernels {backend.Kernels.ToString().ToLowerInvariant()}, CPU {backend.Cpu}";
}
