using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Topiary.Backend;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary backend</c>: what the numeric backend is on this machine, and why.</summary>
internal static class BackendCommand
{
    public const string Help = """
        topiary backend [--recheck] [--threads N]   the numeric backend on this machine: libtorch, oneDNN and why, the
                                                     convolution self-check and where its verdict is cached, Topiary's kernels

          --recheck     run the convolution self-check again and replace the cached verdict
          --threads N   libtorch threads for the check (default: all cores)

        Environment: TOPIARY_ONEDNN=auto|off (off simulates a CPU whose oneDNN convolutions are wrong),
        TOPIARY_SIMD=auto|avx512|avx2|portable (caps Topiary's own kernels), TOPIARY_CHECK_CACHE=on|off,
        TOPIARY_CACHE_DIR=DIR (where verdicts are kept; default $XDG_CACHE_HOME/topiary or ~/.cache/topiary).
        """;

    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "recheck" };

    public static int Run(ArgumentReader args, ILogger logger)
    {
        var recheck = args.Flag("recheck");
        var threads = args.Int("threads", Environment.ProcessorCount);
        args.RejectUnknown("backend");
        if (threads < 1) throw new CliUsageException($"--threads: must be at least 1, got {threads}");

        var overrides = BackendOverrides.Current;
        TorchBackend.SetThreads(threads);
        var status = recheck ? TorchBackend.Recheck(logger) : TorchBackend.EnsureVerified(logger);
        var torchSharp = typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        System.Console.WriteLine($"libtorch {status.TorchVersion} (TorchSharp {torchSharp.Split('+')[0]}), {status.Threads} {(status.Threads == 1 ? "thread" : "threads")}");
        System.Console.WriteLine($"CPU: {status.Cpu}");
        System.Console.WriteLine($"{status.OneDnnSummary}");
        System.Console.WriteLine($"convolution self-check: {status.Outcome.Name()}, worst relative error {Format(status.MaxRelativeError)} " +
                                 $"over {TorchBackend.Cases.Count} convolutions, forward and both gradients (tolerance {Format(TorchBackend.Tolerance)})");
        System.Console.WriteLine(status.CachedIn is not null ? $"verdict: read from {status.CachedIn} (--recheck checks again)"
            : status.SavedTo is not null ? $"verdict: checked now, kept in {status.SavedTo}"
            : !overrides.CacheEnabled ? $"verdict: checked now, not kept ({BackendOverrides.CacheVariable}=off)"
            : "verdict: checked now, not kept (the CPU cannot be identified, the cache folder is not writable, or the check failed)");
        System.Console.WriteLine($"Topiary kernels: {status.Kernels.ToString().ToLowerInvariant()}");
        System.Console.WriteLine($"environment: {overrides.Describe()} {BackendOverrides.CacheVariable}={(overrides.CacheEnabled ? "on" : "off")}");
        return status.Trusted ? 0 : 1;
    }

    private static string Format(double value) => value.ToString("G2", CultureInfo.InvariantCulture);
}
