using System.Diagnostics;

namespace Topiary.Tests.Support;

/// <summary>Runs the real <c>topiary</c> CLI in a child process, as a user would.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    public static Result Run(params string[] args) => RunWith(new Dictionary<string, string?>(), args);

    /// <summary>Runs the CLI with <paramref name="environment"/> added to (or, for null values, removed from) this process's environment.</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var process = Start(environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"topiary {string.Join(' ', args)} did not finish in 4 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Asserts that the run was refused as a usage error (exit 2) in one line containing <paramref name="named"/>, without a stack trace.</summary>
    public static void AssertUsageError(Result result, string named)
    {
        Assert.Equal(2, result.ExitCode);
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(named, lines[0]);
        Assert.DoesNotContain("   at ", result.StandardError);
    }

    /// <summary>Starts the CLI without waiting, for tests that signal or kill it; the caller reads its output.</summary>
    public static Process Start(params string[] args) => Start(new Dictionary<string, string?>(), args);

    private static Process Start(IReadOnlyDictionary<string, string?> environment, string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "Topiary.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["TOPIARY_DEBUG"] = null;
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return Process.Start(start)!;
    }
}
