using Topiary.Inference;
using Topiary.Serialization;
using Topiary.Tests.Support;

namespace Topiary.Tests.Deployment;

public class DeploymentCommandTests
{
    private static string SavedModel(TestDirectory dir)
    {
        using var model = PrunedNetworks.Model("lenet5", 0.97);
        var path = dir.File("model.topiary");
        ModelFile.Save(path, "lenet5", 28, 10, model, masks: null);
        return path;
    }

    [Fact]
    public void Export_and_simplify_write_every_format_and_report_sizes_and_shapes()
    {
        using var dir = new TestDirectory();
        var model = SavedModel(dir);

        var sparse = CliProcess.Run("export", "--model-file", model, "--format", "sparse", "--half");
        Assert.True(sparse.ExitCode == 0, sparse.StandardError);
        Assert.Contains("largest rounding error", sparse.StandardOutput);
        Assert.Contains("csr", sparse.StandardOutput);
        Assert.True(new FileInfo(dir.File("model.tsparse")).Length < new FileInfo(model).Length / 20);

        var simplify = CliProcess.Run("simplify", "--model-file", dir.File("model.tsparse"), "--out", dir.File("small.tsparse"));
        Assert.True(simplify.ExitCode == 0, simplify.StandardError);
        Assert.Contains("shape after", simplify.StandardOutput);
        Assert.Contains("speed at batch 64 (ONNX Runtime", simplify.StandardOutput);
        Assert.Null(SparseModelFile.Load(dir.File("small.tsparse")).Architecture);

        var onnx = CliProcess.Run("export", "--model-file", dir.File("small.tsparse"), "--format", "onnx");
        Assert.True(onnx.ExitCode == 0, onnx.StandardError);
        Assert.True(File.Exists(dir.File("small.onnx")));
        var pytorch = CliProcess.Run("export", "--model-file", model, "--format", "pytorch", "--out", dir.File("state.safetensors"));
        Assert.True(pytorch.ExitCode == 0, pytorch.StandardError);
        Assert.True(File.Exists(dir.File("state.safetensors")));
        var pt = CliProcess.Run("export", "--model-file", model, "--format", "pytorch");
        Assert.True(pt.ExitCode == 0, pt.StandardError);
        Assert.Equal("PK\u0003\u0004", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(dir.File("model.pt")), 0, 4));
    }

    [Theory]
    [InlineData("state.bin")]
    [InlineData("state")]
    public void A_pytorch_export_to_an_unsupported_extension_is_a_one_line_out_error(string name)
    {
        using var dir = new TestDirectory();
        var result = CliProcess.Run("export", "--model-file", SavedModel(dir), "--format", "pytorch", "--out", dir.File(name));
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("topiary: error: --out:", result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
        Assert.False(File.Exists(dir.File(name)));
    }

    [Theory]
    [InlineData("--format", "zip", "--format")]
    [InlineData("--format", "onnx", "--half")]
    [InlineData("--colour", "red", "--colour")]
    public void Bad_export_options_are_one_line_errors_with_exit_code_2(string flag, string value, string named)
    {
        using var dir = new TestDirectory();
        var model = SavedModel(dir);
        var args = new List<string> { "export", "--model-file", model, flag, value };
        if (flag != "--format") args.AddRange(new[] { "--format", "sparse" });
        if (named == "--half") args.Add("--half");
        var result = CliProcess.Run(args.ToArray());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void A_damaged_input_file_is_a_one_line_error_naming_it()
    {
        using var dir = new TestDirectory();
        var path = dir.File("bad.tsparse");
        File.WriteAllBytes(path, "TOPSPRS\0"u8.ToArray().Concat(new byte[40]).ToArray());
        var result = CliProcess.Run("simplify", "--model-file", path);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bad.tsparse", result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }
}
