using System.Diagnostics;
using Topiary.Tests.Support;

namespace Topiary.Tests.Sweeps;

/// <summary>
/// A fact that needs a real Slurm: <c>scripts/slurm-local.sh start</c> brings up (or finds) a one-node cluster, once per
/// test run, in the machine leg. Skipped, with the reason, in the other leg, when TOPIARY_SKIP_SLURM=1, and where the
/// cluster cannot start (no apt, no root, a daemon that will not come up: the script's one line).
/// </summary>
internal sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TOPIARY_SKIP_SLURM") is { Length: > 0 } skip && skip != "0")
            Skip = "TOPIARY_SKIP_SLURM is set";
        else if (MachineLegFactAttribute.OutsideMachineLeg("Slurm") is { } leg)
            Skip = leg;
        else if (!OperatingSystem.IsLinux())
            Skip = "scripts/slurm-local.sh starts Slurm on Linux only";
        else if (LocalSlurm.Start() is { } reason)
            Skip = $"Slurm cannot start here: {reason}";
    }
}

/// <summary>The one-node cluster of <c>scripts/slurm-local.sh</c>, started at most once per test run and stopped at its end if the tests started it.</summary>
internal static class LocalSlurm
{
    private static readonly Lazy<string?> Started = new(() =>
    {
        var wasUp = Script("status").ExitCode == 0;
        var (code, error) = Script("start");
        if (code != 0) return error.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit {code}";
        if (!wasUp) AppDomain.CurrentDomain.ProcessExit += (_, _) => Script("stop");
        return null;
    });

    /// <summary>Null when the cluster is up, else why not.</summary>
    public static string? Start() => Started.Value;

    private static (int ExitCode, string Error) Script(string command)
    {
        var start = new ProcessStartInfo("bash", [Repository.Path("scripts", "slurm-local.sh"), command])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"slurm-local.sh {command} did not finish in 5 minutes");
        }
        return (process.ExitCode, error.Result + output.Result);
    }
}
