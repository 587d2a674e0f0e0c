using Microsoft.Extensions.Logging;
using Topiary.Backend;

namespace Topiary.Cli.Commands;

/// <summary>Readies libtorch for a training command and says, in one line, what it runs on.</summary>
internal static class BackendSummary
{
    /// <summary>Sets libtorch's thread count, then runs the start-up checks (conv gradients, oneDNN fallback).</summary>
    public static BackendStatus Start(int threads, ILogger logger)
    {
        TorchBackend.SetThreads(threads);
        return TorchBackend.EnsureVerified(logger);
    }

    /// <summary>The line every training command prints under its heading.</summary>
    public static string Line(BackendStatus backend, int threads) =>
        $"backend: libtorch {backend.TorchVersion}, oneDNN {(backend.OneDnnEnabled ? "on" : "off")}, {threads} threads, conv self-check {backend.Outcome}";
}
