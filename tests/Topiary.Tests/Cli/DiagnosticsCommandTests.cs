using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Cli;

/// <summary>The diagnostics of issue 22 on the command line: <c>analyze --koopman --nuclear-norm --grad-norm</c> and <c>eval --calibration</c>.</summary>
public class DiagnosticsCommandTests
{
    [Theory]
    [InlineData(new[] { "analyze", "--samples", "0" }, "--samples")]
    [InlineData(new[] { "eval", "--corrupted-images", "-1" }, "--corrupted-images")]
    [InlineData(new[] { "eval", "--against", "dense.topiary" }, "--against: only with --calibration")]
    public void Bad_values_exit_2_with_one_line_naming_the_flag(string[] args, string expected)
    {
        var result = CliProcess.Run([.. args, "--model-file", "unused.topiary"]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line);
    }

    private static (string Data, string Pruned, string Dense) Files(TestDirectory dir)
    {
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 200, testCount: 60);
        manual_seed(1);
        var model = new LeNet5();
        var dense = Path.Combine(dir.Path, "dense.topiary");
        ModelFile.Save(dense, "lenet5", 28, 10, model, masks: null);
        using var masks = new PruningMasks(model.named_parameters().Where(p => p.name == "fc1.weight"));
        var weight = model.named_parameters().First(p => p.name == "fc1.weight").parameter;
        masks.CopyFrom(new Dictionary<string, Tensor> { ["fc1.weight"] = weight.abs().gt(0.02).to(weight.dtype) });
        var pruned = Path.Combine(dir.Path, "pruned.topiary");
        ModelFile.Save(pruned, "lenet5", 28, 10, model, masks);
        return (data, pruned, dense);
    }

    [Fact]
    public void Analyze_shows_the_koopman_factors_the_nuclear_norm_and_the_gradient_norm_complexity()
    {
        using var dir = new TestDirectory();
        var (data, pruned, _) = Files(dir);
        var result = CliProcess.Run("analyze", "--model-file", pruned, "--data", data, "--koopman", "--nuclear-norm", "--grad-norm", "--samples", "20", "--neural-collapse");
        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = System.Text.RegularExpressions.Regex.Replace(result.StandardOutput, @"\s+", " ");
        foreach (var text in new[] { "Koopman-bound weight factor", "fc1", "fc2", "log10 of the product", "on the 60 test images", "(60×10)", "||A||_*/B",
                     "L1,2 approximation", "on the first 20 training images", "mean ||grad loss_i||^2", "neural collapse of the penultimate features on the 60 test images",
                     "NC1 tr(Sw Sb+)/K", "equiangularity" })
            Assert.True(output.Contains(text), $"'{text}' is missing from:\n{result.StandardOutput}");
        var tooMany = CliProcess.Run("analyze", "--model-file", pruned, "--data", data, "--grad-norm", "--samples", "100000");
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("--samples: 100000 is more than", Assert.Single(tooMany.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void Eval_with_calibration_reports_the_model_beside_the_against_model_on_clean_and_corrupted_images()
    {
        using var dir = new TestDirectory();
        var (data, pruned, dense) = Files(dir);
        var result = CliProcess.Run("eval", "--model-file", pruned, "--data", data, "--calibration", "--against", dense, "--corrupted-images", "30");
        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = System.Text.RegularExpressions.Regex.Replace(result.StandardOutput, @"\s+", " ");
        foreach (var text in new[] { "calibration (#112", "clean on the 60 test images", "on the first 30", $"against {dense}", "against: acc.", "noise 1", "blur 5", "contrast 3" })
            Assert.True(output.Contains(text), $"'{text}' is missing from:\n{result.StandardOutput}");
        var alone = CliProcess.Run("eval", "--model-file", pruned, "--data", data, "--calibration", "--corrupted-images", "0");
        Assert.True(alone.ExitCode == 0, alone.StandardError);
        Assert.Contains("no corruptions", alone.StandardOutput);
        Assert.DoesNotContain("noise 1", alone.StandardOutput);
    }
}
