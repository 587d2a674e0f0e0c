using Topiary.Inference;
using Topiary.Quantization;
using Topiary.Serialization;
using Topiary.Tests.Support;

namespace Topiary.Tests.Deployment;

public class QuantizedExportCommandTests
{
    [Fact]
    public void Export_quantize_writes_an_int8_sparse_file_and_a_calibrated_qdq_model()
    {
        using var dir = new TestDirectory();
        using var model = PrunedNetworks.Model("lenet5", 0.97);
        var path = dir.File("model.topiary");
        ModelFile.Save(path, "lenet5", 28, 10, model, masks: null);
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 300, testCount: 50);

        var sparse = CliProcess.Run("export", "--model-file", path, "--format", "sparse", "--quantize", "int4", "--out", dir.File("m4.tsparse"));
        Assert.True(sparse.ExitCode == 0, sparse.StandardError);
        Assert.Contains("int4 per channel levels", sparse.StandardOutput);
        var loaded = SparseModelFile.Load(dir.File("m4.tsparse"));
        Assert.Equal(4, loaded.WeightBits);
        var network = NetworkFile.Load(path).Network;
        Assert.Equal(WeightQuantizer.Dequantized(network, QuantizationScheme.Int4).Parameters().SelectMany(p => p.Values),
            loaded.Network.Parameters().SelectMany(p => p.Values));

        var onnx = CliProcess.Run("export", "--model-file", path, "--format", "onnx", "--quantize", "int8", "--data", data, "--calibration-images", "100");
        Assert.True(onnx.ExitCode == 0, onnx.StandardError);
        Assert.Contains("calibrated on 100 training images", onnx.StandardOutput);
        using var runtime = new OnnxRuntimeNetwork(network, File.ReadAllBytes(dir.File("model.onnx")));
        using var x = PrunedNetworks.Images(3);
        using var y = runtime.Forward(x);
        Assert.Equal(new long[] { 3, 10 }, y.shape);
    }

    [Theory]
    [InlineData(new[] { "--format", "pytorch", "--quantize", "int8" }, "--quantize: only for --format sparse or onnx")]
    [InlineData(new[] { "--format", "sparse", "--quantize", "int8", "--half" }, "--half: cannot be combined with --quantize")]
    [InlineData(new[] { "--format", "sparse", "--quantize", "int2" }, "--quantize: unknown value 'int2'")]
    [InlineData(new[] { "--format", "sparse", "--data", "/tmp" }, "--data: only for --format onnx with --quantize")]
    [InlineData(new[] { "--format", "onnx", "--quantize", "int8", "--calibration-images", "0" }, "--calibration-images: must be at least 1")]
    public void Bad_quantize_flags_exit_2_with_one_line(string[] flags, string message)
    {
        var result = CliProcess.Run(["export", "--model-file", "unused.topiary", .. flags]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
