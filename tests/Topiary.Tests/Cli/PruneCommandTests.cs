using Topiary.Cli.Settings;
using Topiary.Regularization;
using Topiary.Methods;
using System.Text.Json;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class PruneCommandTests
{
    [Fact]
    public void A_small_run_finishes_and_writes_a_complete_report()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 2400, testCount: 500);
        var output = Path.Combine(dir.Path, "run");

        var result = CliProcess.Run("prune", "--data", data, "--subset", "2000", "--dense-epochs", "1", "--epochs", "1",
            "--eval-every", "6", "--floor", "0.5", "--crop-fraction", "0.2", "--out", output);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "report.json", "report.md", "trajectory.csv", "accuracy-vs-remaining.png", "layer-sparsity.png", "gate.png", "model.topiary" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        foreach (var key in new[] { "tool_version", "model", "dataset", "method", "seed", "hyperparameters", "backend", "dense", "final", "layers", "trajectory", "timing" })
            Assert.True(root.TryGetProperty(key, out _), $"report.json lacks {key}");
        foreach (var key in new[] { "validation", "test", "total_params", "nonzero_params", "remaining_fraction", "compression_ratio" })
            Assert.True(root.GetProperty("final").TryGetProperty(key, out _), $"final lacks {key}");
        Assert.Equal(431_080, root.GetProperty("dense").GetProperty("total_params").GetInt64());
        Assert.True(root.GetProperty("final").GetProperty("remaining_fraction").GetDouble() < 1.0, "nothing was pruned on easy data");
        Assert.True(root.GetProperty("backend").TryGetProperty("onednn", out _));
        foreach (var key in new[] { "self_check", "cpu", "kernels", "onednn_note" })
            Assert.True(root.GetProperty("backend").TryGetProperty(key, out _), $"backend lacks {key}");
        Assert.StartsWith("backend: libtorch ", result.StandardOutput.Split('\n')[1]);
        Assert.True(root.GetProperty("trajectory").GetArrayLength() >= 2);
        // The default method is relevance: every evaluation after the first step records its gate, per prunable tensor.
        var gate = root.GetProperty("gate");
        Assert.Equal(root.GetProperty("trajectory").GetArrayLength() - 1, gate.GetProperty("evaluations").GetArrayLength());
        Assert.Equal(root.GetProperty("layers").GetArrayLength(), gate.GetProperty("evaluations")[0].GetProperty("layers").GetArrayLength());
        Assert.Contains("## Relevance gate", File.ReadAllText(Path.Combine(output, "report.md")));
        Assert.Equal(1800, root.GetProperty("dataset").GetProperty("train_count").GetInt32());

        var eval = CliProcess.Run("eval", "--model-file", Path.Combine(output, "model.topiary"), "--data", data);
        Assert.True(eval.ExitCode == 0, eval.StandardError);
        var finalTest = root.GetProperty("final").GetProperty("test").GetDouble();
        Assert.Contains($"test accuracy {(100 * finalTest).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}%", eval.StandardOutput);
        var worst = System.Text.RegularExpressions.Regex.Match(eval.StandardOutput, @", worst class (\d+\.\d\d)% \(class \d\)");
        Assert.True(worst.Success, eval.StandardOutput);
        Assert.True(double.Parse(worst.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) <= 100 * finalTest + 0.005);
    }

    [Theory]
    [InlineData("--crop-fraction", "1.5", "--crop-fraction")]
    [InlineData("--floor", "2", "--floor")]
    [InlineData("--gamma", "-1", "--gamma")]
    [InlineData("--model", "resnet", "--model")]
    [InlineData("--method", "magic", "--method")]
    [InlineData("--epochs", "many", "--epochs")]
    [InlineData("--frobnicate", "1", "--frobnicate")]
    [InlineData("--criterion", "saliency", "--criterion: unknown value 'saliency' (expected one of: magnitude, snip, taylor, movement)")]
    [InlineData("--max-sparsity", "1", "--max-sparsity: expected none or a number in (0, 1), got '1'")]
    public void Bad_flags_exit_2_with_one_line_naming_the_flag(string flag, string value, string named) =>
        CliProcess.AssertUsageError(CliProcess.Run("prune", flag, value), named);

    [Theory]
    [InlineData("l2", "--alpha", "0.1", "--alpha: l2 takes no such setting")]
    [InlineData("gmp", "--gamma", "1e-3", "--gamma: gmp takes no such setting")]
    [InlineData("relevance", "--twt", "0.1", "--twt: relevance takes no such setting")]
    [InlineData("lobster", "--crop-fraction", "0.1", "--crop-fraction: lobster takes no such setting")]
    [InlineData("relevance", "--momentum", "0.5", "--momentum: adam takes no momentum")]
    [InlineData("l2", "--decay", "decoupled", "--decay: l2 takes no such setting")]
    [InlineData("l2", "--pattern", "2:4", "--pattern: l2 takes no such setting")]
    [InlineData("nm", "--pattern", "4:4", "--pattern: expected N:M with 1 ≤ N < M, e.g. 2:4, got '4:4'")]
    [InlineData("none", "--alpha", "auto:0.5", "--alpha: none takes no such setting")]
    [InlineData("relevance", "--alpha", "auto:2", "--alpha: expected a number > 0 or auto:q with q in (0, 1]")]
    [InlineData("relevance", "--signal", "smooth", "--signal")]
    [InlineData("relevance", "--tune", "magic", "--tune: unknown value 'magic' (expected one of: hoag, bilevel, stn)")]
    [InlineData("relevance", "--tune-every", "2", "--tune-every: needs --tune")]
    [InlineData("none", "--tune", "hoag", "--tune: none takes no such setting")]
    [InlineData("gmp", "--tune", "stn", "--tune: gmp takes no such setting")]
    [InlineData("lobster", "--tune", "bilevel", "--tune: bilevel: regularizer 'lobster' is not a smooth penalty")]
    [InlineData("gmp", "--max-sparsity", "0.98", "--max-sparsity: gmp takes no such setting")]
    public void A_setting_the_method_or_optimizer_does_not_take_is_refused_before_any_training(string method, string flag, string value, string message)
    {
        var result = CliProcess.Run("prune", "--method", method, flag, value, "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void The_calibrated_relevance_flags_reach_the_methods_own_settings()
    {
        var calibrated = Assert.IsType<RelevancePruning>(new PruneSettings { Alpha = "auto:0.5", Signal = "average", Decay = "decoupled" }.Options().Method);
        Assert.Equal((0.5, RelevanceSignal.RunningAverage, DecayCoupling.Decoupled), (calibrated.AlphaQuantile, calibrated.Signal, calibrated.Decay));
        var paper = Assert.IsType<RelevancePruning>(new PruneSettings { Alpha = "0.01" }.Options().Method);
        Assert.Equal((0.01, (double?)null, RelevanceSignal.Minibatch, DecayCoupling.Coupled), (paper.Alpha, paper.AlphaQuantile, paper.Signal, paper.Decay));
        Assert.Equal(new RelevancePruning { MaxSparsity = 0.98 }.Describe().ToJsonString(), new PruneSettings().Options().Method.Describe().ToJsonString());
    }

    [Fact]
    public void The_maximum_sparsity_reaches_every_iterative_method_and_is_described_only_when_set()
    {
        foreach (var name in new[] { "relevance", "l2", "l1", "none" })
        {
            var method = Assert.IsAssignableFrom<IterativeCropPruning>(new PruneSettings { Method = name, MaxSparsity = "0.9" }.Options().Method);
            Assert.Equal(0.9, method.MaxSparsity);
            Assert.Contains("\"max_sparsity\":0.9", method.Describe().ToJsonString());
        }
        Assert.DoesNotContain("max_sparsity", new RelevancePruning().Describe().ToJsonString());
    }

    [Fact]
    public void The_image_demo_stops_at_two_percent_unless_told_otherwise_and_the_paper_preset_never_does()
    {
        double? Stop(PruneSettings settings) => ((IterativeCropPruning)settings.Options().Method).MaxSparsity;
        Assert.Equal(0.98, Stop(new PruneSettings()));
        Assert.Equal(0.98, Stop(new PruneSettings { Model = "lenet300", Method = "l2" }));
        Assert.Null(Stop(new PruneSettings { MaxSparsity = "none" }));
        Assert.Null(Stop(new PruneSettings { Preset = "paper" }));
        Assert.Null(Stop(new PruneSettings { DemoStops = false }));
        // Methods with their own schedule ignore the default (and are not refused for it).
        Assert.IsType<GradualMagnitudePruning>(new PruneSettings { Method = "gmp" }.Options().Method);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(2, 0.98)]
    public void A_run_folder_resumes_with_the_demo_defaults_of_its_run_json_version(int version, double? stop)
    {
        var directory = Directory.CreateTempSubdirectory("topiary-runjson-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "run.json"),
                $$"""{ "version": {{version}}, "command": "prune", "tool_version": "0.1.0", "options": { "seed": "7" }, "threads": 1 }""");
            var settings = Topiary.Cli.Runs.RunConfiguration.Read(directory).Settings<PruneSettings>(directory);
            Assert.Equal(stop, ((IterativeCropPruning)settings.Options().Method).MaxSparsity);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_damaged_data_set_exits_2_naming_the_file()
    {
        using var dir = new TestDirectory();
        SyntheticIdx.Write(dir.Path, trainCount: 100, testCount: 20);
        var labels = Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz");
        File.WriteAllBytes(labels, File.ReadAllBytes(labels).AsSpan(0, 30).ToArray());
        var result = CliProcess.Run("prune", "--data", dir.Path, "--epochs", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("train-labels-idx1-ubyte.gz", result.StandardError);
        Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Eval_of_a_missing_model_file_exits_2()
    {
        var result = CliProcess.Run("eval", "--model-file", "/nonexistent/model.topiary");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("/nonexistent/model.topiary", result.StandardError);
    }
}
