using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Tests.Support;

namespace Topiary.Tests.Sweeps;

/// <summary>A small comparison (none and gmp on LeNet-300-100 over synthetic images, one epoch each) as a sweep or a serial compare.</summary>
internal static class SweepFixture
{
    public static string SmallData(TestDirectory dir)
    {
        var data = dir.File("data");
        if (!Directory.Exists(data)) SyntheticIdx.Write(data, trainCount: 600, testCount: 200);
        return data;
    }

    /// <summary>The comparison's flags, without --out and --threads.</summary>
    public static string[] Flags(string data, int seeds = 2, string methods = "none,gmp", string epochs = "1") =>
    [
        "--methods", methods, "--seeds", seeds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--model", "lenet300", "--data", data,
        "--dense-epochs", "1", "--epochs", epochs, "--eval-every", "2", "--floor", "0.3",
    ];

    public static void Ok(CliProcess.Result result, string what) =>
        Assert.True(result.ExitCode == 0, $"{what}: exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");

    /// <summary>Each run's numbers (method, seed, metrics, size and test trajectory), as one text per run, in report order.</summary>
    public static IReadOnlyList<string> Numbers(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "comparison.json")));
        return json.RootElement.GetProperty("runs").EnumerateArray().Select(run =>
            string.Join(" ", new[] { "method", "seed", "dense_test_metric", "val_metric", "test_metric", "remaining_fraction" }
                .Select(k => run.GetProperty(k).ToString())) + " " + run.GetProperty("test_trajectory")).ToList();
    }

    public static bool Complete(string folder) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "comparison.json")))!["complete"]!.GetValue<bool>();

    /// <summary>The manifest's cells as JSON, for tests that read or edit them.</summary>
    public static JsonArray Cells(string manifest) => JsonNode.Parse(File.ReadAllText(manifest))!["cells"]!.AsArray();
}
