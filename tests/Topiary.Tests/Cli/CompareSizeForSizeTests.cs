using System.Text.Json;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

/// <summary><c>compare --sizes</c>: every method measured at the same sizes after the same fine-tuning, with the statistics over seeds.</summary>
public class CompareSizeForSizeTests
{
    [Fact]
    public void Every_method_is_measured_at_the_sizes_it_reaches_with_the_same_fine_tuning_and_paired_statistics()
    {
        using var dir = new TestDirectory();
        var data = dir.File("data");
        SyntheticIdx.Write(data, trainCount: 600, testCount: 200);
        var output = dir.File("cmp");
        var result = CliProcess.Run("compare", "--methods", "none,l2,gmp", "--seeds", "2", "--model", "lenet300", "--data", data, "--dense-epochs", "1",
            "--epochs", "3", "--eval-every", "2", "--crop-fraction", "0.3", "--sizes", "0.5,0.3", "--fine-tune-steps", "4", "--threads", "1", "--out", output);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var root = json.RootElement;
        foreach (var run in root.GetProperty("runs").EnumerateArray())
        {
            var sizes = run.GetProperty("sizes").EnumerateArray().ToList();
            Assert.Equal([0.5, 0.3], sizes.Select(s => s.GetProperty("target").GetDouble()));
            Assert.All(sizes, s => Assert.Equal(4, s.GetProperty("fine_tune_steps").GetInt32()));
        }
        // Per size and method: over both seeds; paired against none and l2 (none against l2 too), by seed.
        var summaries = root.GetProperty("size_summaries").EnumerateArray().ToList();
        Assert.Equal(6, summaries.Count);
        Assert.All(summaries, s => Assert.Equal(2, s.GetProperty("reached").GetInt32()));
        double At(string method, int seed, double size) => root.GetProperty("runs").EnumerateArray()
            .Single(r => r.GetProperty("method").GetString() == method && r.GetProperty("seed").GetInt32() == seed)
            .GetProperty("sizes").EnumerateArray().Single(s => s.GetProperty("target").GetDouble() == size).GetProperty("test_metric").GetDouble();
        var gmpVsNone = root.GetProperty("size_paired").EnumerateArray().Single(d => d.GetProperty("size").GetDouble() == 0.3
            && d.GetProperty("difference").GetProperty("method").GetString() == "gmp" && d.GetProperty("difference").GetProperty("baseline").GetString() == "none");
        Assert.Equal((At("gmp", 1234, 0.3) - At("none", 1234, 0.3) + At("gmp", 1235, 0.3) - At("none", 1235, 0.3)) / 2,
            gmpVsNone.GetProperty("difference").GetProperty("mean").GetDouble(), 12);
        Assert.Contains("## Size for size", File.ReadAllText(Path.Combine(output, "comparison.md")));
        Assert.Contains("size for size", result.StandardOutput);
        Assert.Contains("\"floor\": 0", File.ReadAllText(Path.Combine(output, "comparison.json")));
    }

    [Theory]
    [InlineData("--sizes", "0.1,0.5", "--sizes: give distinct sizes, largest first")]
    [InlineData("--sizes", "2", "--sizes: expected remaining fractions in (0, 1)")]
    [InlineData("--fine-tune-steps", "10", "--fine-tune-steps: only with --sizes")]
    public void Bad_protocol_flags_give_one_line_and_exit_2(string flag, string value, string expected)
    {
        var result = CliProcess.Run("compare", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
