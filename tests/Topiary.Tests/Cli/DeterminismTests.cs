using System.Text.Json.Nodes;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

/// <summary>
/// What Topiary promises about reproducibility: the same seed on the same machine with the same thread count gives
/// the same report.json (all but wall-clock times). Nothing is promised across CPUs or thread counts, where kernels
/// sum in other orders, so nothing is tested across them.
/// </summary>
public class DeterminismTests
{
    [Fact]
    public void The_same_seed_and_threads_give_the_same_report_twice()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 1400, testCount: 300);
        JsonObject Run(string name)
        {
            var output = Path.Combine(dir.Path, name);
            var result = CliProcess.Run("prune", "--model", "lenet300", "--data", data, "--subset", "1200", "--dense-epochs", "1", "--epochs", "1",
                "--eval-every", "4", "--floor", "0.5", "--crop-fraction", "0.3", "--seed", "11", "--threads", "1", "--out", output);
            Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}");
            var report = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "report.json")))!.AsObject();
            report.Remove("timing");
            return report;
        }

        var first = Run("first");
        var second = Run("second");
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
    }
}
