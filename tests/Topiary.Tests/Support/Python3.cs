using System.Diagnostics;

namespace Topiary.Tests.Support;

/// <summary>The machine's <c>python3</c>, used as an independent reader of exported files.</summary>
internal static class Python3
{
    /// <summary>Full path of python3 on PATH, or null when there is none.</summary>
    public static readonly string? Path = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => System.IO.Path.Combine(dir, "python3"))
        .FirstOrDefault(File.Exists);

    /// <summary>Runs a script from the test output folder; returns its standard output, failing the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException("python3 is not on PATH"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, script));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{script} exited with {process.ExitCode}: {error.Result}");
        return output;
    }
}

/// <summary>A fact that is skipped, with the reason, on a machine without python3.</summary>
internal sealed class Python3FactAttribute : FactAttribute
{
    public Python3FactAttribute()
    {
        if (Python3.Path is null) Skip = "python3 is not on PATH, so the independent Python reader cannot run";
    }
}
