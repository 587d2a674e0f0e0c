using Topiary.Models;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Cli;

public class AnalyzeAndRegOptionTests
{
    [Theory]
    [InlineData("prune", "--reg", "spectral:1e-3,bogus:1")]
    [InlineData("prune", "--reg", "so:-2")]
    [InlineData("prune", "--reg", "gor:1e-4:cross=-1")]
    [InlineData("prune", "--reg", "sorsa:1e-3:rank=0")]
    [InlineData("prune", "--reg", "qgoft:1e-3:lr=-1")]
    [InlineData("prune", "--reg", "mixout:1")]
    [InlineData("prune", "--reg", "sara:1e-3:fraction=0")]
    [InlineData("prune", "--optimizer", "lion")]
    [InlineData("analyze", "--iterations", "0")]
    [InlineData("analyze", "--alpha", "auto:2")]
    [InlineData("analyze", "--alpha", "-1")]
    [InlineData("analyze", "--alpha", "often")]
    public void Bad_values_exit_2_with_one_line_naming_the_flag(string command, string flag, string value)
    {
        var result = command == "analyze" ? CliProcess.Run(command, flag, value, "--model-file", "unused.topiary") : CliProcess.Run(command, flag, value);
        Assert.Equal(2, result.ExitCode);
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(flag, lines[0]);
    }

    [Fact]
    public void A_recipe_with_a_bad_reg_list_exits_2_with_one_line_naming_the_file_and_field()
    {
        using var dir = new TestDirectory();
        var recipe = dir.File("r.json");
        File.WriteAllText(recipe, """{ "regularizer": { "reg": "spectral:1e-3,bogus" }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }""");
        var result = CliProcess.Run("prune", "--recipe", recipe);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("r.json: regularizer.reg: unknown regularizer 'bogus'", line);
    }

    [Fact]
    public void Analyze_prints_a_bound_per_layer_their_product_and_the_path_norms()
    {
        using var dir = new TestDirectory();
        var file = Path.Combine(dir.Path, "model.topiary");
        manual_seed(1);
        ModelFile.Save(file, "lenet5", 28, 10, new LeNet5(), masks: null);
        var result = CliProcess.Run("analyze", "--model-file", file);
        Assert.True(result.ExitCode == 0, result.StandardError);
        foreach (var layer in new[] { "conv1", "conv2", "fc1", "fc2", "Lipschitz upper bound", "path-norms: L1" })
            Assert.Contains(layer, result.StandardOutput);
        Assert.True(result.StandardOutput.Contains("28×28"), result.StandardOutput);
        Assert.Contains("12×12", result.StandardOutput);
    }

    [Theory]
    [InlineData("1", "alpha 1:")]
    [InlineData("auto:0.5", "alpha auto:0.5 (the 50% quantile of each tensor's |g|)")]
    public void Analyze_with_gate_prints_the_gate_quantiles_per_prunable_tensor_on_a_batch(string alpha, string heading)
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 200, testCount: 50);
        var file = Path.Combine(dir.Path, "model.topiary");
        manual_seed(1);
        ModelFile.Save(file, "lenet5", 28, 10, new LeNet5(), masks: null);
        var result = CliProcess.Run("analyze", "--model-file", file, "--data", data, "--gate", "--alpha", alpha);
        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = System.Text.RegularExpressions.Regex.Replace(result.StandardOutput, @"\s+", " ");
        foreach (var text in new[] { heading, "on the first 100 training images", "|g| 50%", "gate 99%", "conv1.weight", "fc2.bias" })
            Assert.True(output.Contains(text), $"'{text}' is missing from:\n{result.StandardOutput}");
    }
}
