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

    /// <summary>
    /// A python3 that can <c>import torch</c> (the one on PATH, else Debian's /usr/bin/python3, where python3-torch
    /// installs), or null. PyTorch is optional: the bootstrap does not install it.
    /// </summary>
    public static readonly Lazy<string?> WithTorch = new(() => new[] { Path, "/usr/bin/python3" }
        .OfType<string>().Distinct().FirstOrDefault(p => File.Exists(p) && Exits0(p, "-c", "import torch")));

    /// <summary>Runs a script from the test output folder; returns its standard output, failing the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] arguments) =>
        RunWith(Path ?? throw new InvalidOperationException("python3 is not on PATH"), script, arguments);

    /// <summary><see cref="Run"/> with the given interpreter.</summary>
    public static string RunWith(string interpreter, string script, params string[] arguments)
    {
        var (exitCode, output, error) = Execute(interpreter, arguments.Prepend(System.IO.Path.Combine(AppContext.BaseDirectory, script)));
        Assert.True(exitCode == 0, $"{script} exited with {exitCode}: {output} {error}");
        return output;
    }

    private static bool Exits0(string interpreter, params string[] arguments) => Execute(interpreter, arguments).ExitCode == 0;

    private static (int ExitCode, string Output, string Error) Execute(string interpreter, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
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

/// <summary>A fact that is skipped, with the reason, on a machine without a python3 that has PyTorch.</summary>
internal sealed class TorchPythonFactAttribute : FactAttribute
{
    public TorchPythonFactAttribute()
    {
        if (Python3.WithTorch.Value is null) Skip = "no python3 with PyTorch (optional: Debian's python3-torch), so torch.load cannot be tried";
    }
}
