using System.Diagnostics;
using System.Text.Json.Nodes;
using Topiary.Tests.Support;

namespace Topiary.Tests.Examples;

/// <summary>The two example projects build, run at a tiny size, and the user-loop example resumes exactly after a SIGKILL.</summary>
public class ExamplesTests
{
    private static string Example(string name)
    {
        var dll = Repository.Path("examples", name, "bin", "Release", "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built (the solution builds the examples)");
        return dll;
    }

    private static Process Start(string dll, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    private static (int ExitCode, string Output, string Error) Run(string dll, string workingDirectory, params string[] args)
    {
        using var process = Start(dll, workingDirectory, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(dll)} did not finish in 4 minutes");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void The_runner_example_prunes_an_mlp_and_writes_the_report()
    {
        using var dir = new TestDirectory();
        var data = dir.File("data");
        SyntheticIdx.Write(data, trainCount: 1300, testCount: 200);
        var (code, output, error) = Run(Example("PruneMlp"), dir.Path, data, "2", "1200");
        Assert.True(code == 0, error + output);
        Assert.Contains("of the parameters remain", output);
        Assert.True(File.Exists(Path.Combine(dir.Path, "runs", "mlp", "report.json")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "runs", "mlp", "report.md")));
    }

    private static string[] CnnArguments(string data, string output, bool resume = false) =>
        ["--data", data, "--subset", "600", "--dense-epochs", "1", "--epochs", "6", "--eval-every", "3", "--threads", "1", "--out", output,
         .. resume ? new[] { "--resume" } : []];

    [Fact]
    public void The_user_loop_example_prunes_exports_runs_sparse_and_resumes_exactly_after_a_kill()
    {
        using var dir = new TestDirectory();
        var data = dir.File("data");
        SyntheticIdx.Write(data, trainCount: 700, testCount: 200);
        var cnn = Example("CustomCnn");

        var whole = dir.File("whole");
        var (code, output, error) = Run(cnn, dir.Path, CnnArguments(data, whole));
        Assert.True(code == 0, error + output);
        foreach (var file in new[] { "model.tsparse", "model.onnx", "summary.json", "session.ckpt" })
            Assert.True(File.Exists(Path.Combine(whole, file)), $"{file} is missing");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(whole, "summary.json")))!;
        Assert.True(summary["nonzero"]!.GetValue<long>() < summary["parameters"]!.GetValue<long>(), "nothing was pruned");
        // Topiary's sparse kernels on the exported network classify as the TorchSharp model did (BatchNorm folded).
        Assert.True(Math.Abs(summary["sparse_test"]!.GetValue<double>() - summary["test"]!.GetValue<double>()) <= 0.005, summary.ToJsonString());

        // SIGKILL once a checkpoint is on disk, then --resume: the same numbers as the uninterrupted run.
        var killed = dir.File("killed");
        using (var process = Start(cnn, dir.Path, CnnArguments(data, killed)))
        {
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            var checkpoint = Path.Combine(killed, "session.ckpt");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(10);
            process.Kill();
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, "summary.json")), "the run ended before it could be killed");
        var resumed = Run(cnn, dir.Path, CnnArguments(data, killed, resume: true));
        Assert.True(resumed.ExitCode == 0, resumed.Error + resumed.Output);
        Assert.Contains("resumed at pruning step", resumed.Output);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "summary.json")), File.ReadAllText(Path.Combine(killed, "summary.json")));
        // Every stored weight too, bit for bit: dropout drew the same masks after the resume.
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model.tsparse")), File.ReadAllBytes(Path.Combine(killed, "model.tsparse")));
    }
}
