using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Backend;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary backend</c>: what the numeric backend is on this machine, and why.</summary>
internal sealed class BackendCommand(ILogger logger) : Command<BackendSettings>
{
    public override int Execute(CommandContext context, BackendSettings settings, CancellationToken cancellationToken)
    {
        var (recheck, threads) = (settings.Recheck, settings.ThreadCount);

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
