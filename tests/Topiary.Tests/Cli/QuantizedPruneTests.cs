using System.Text.Json;
using Topiary.Inference;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class QuantizedPruneTests
{
    [Fact]
    public void Prune_with_quantize_writes_the_int8_files_and_measures_them()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 2400, testCount: 500);
        var output = Path.Combine(dir.Path, "run");

        var result = CliProcess.Run("prune", "--model", "lenet300", "--data", data, "--subset", "2000", "--dense-epochs", "1", "--epochs", "1",
            "--eval-every", "6", "--floor", "0.5", "--crop-fraction", "0.3", "--quantize", "int8", "--out", output);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "model.topiary", "model.tsparse", "model.int8.tsparse", "model.int8.onnx", "report.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        var quantization = root.GetProperty("quantization");
        Assert.Equal("int8 per channel", quantization.GetProperty("scheme").GetString());
        Assert.Contains("qat:1:bits=8:channel=1", root.GetRawText());
        Assert.Equal(root.GetProperty("final").GetProperty("test").GetDouble(), quantization.GetProperty("float_test").GetDouble());
        // The int8 file, run by Topiary's kernels, is the fake-quantized model run by libtorch: only summation order differs.
        Assert.InRange(quantization.GetProperty("sparse_file_test").GetDouble() - quantization.GetProperty("quantized_test").GetDouble(), -0.004, 0.004);
        Assert.Equal(new FileInfo(Path.Combine(output, "model.int8.tsparse")).Length, quantization.GetProperty("quantized_sparse_bytes").GetInt64());
        Assert.True(quantization.GetProperty("quantized_sparse_bytes").GetInt64() < quantization.GetProperty("float_sparse_bytes").GetInt64());
        // The QDQ model also quantizes the activations (uint8, calibrated), so it may differ a little more; more still where
        // ONNX Runtime's int8 kernels may saturate.
        var onnxBound = OnnxRuntimeInt8.MaySaturate ? 0.10 : 0.03;
        Assert.InRange(quantization.GetProperty("onnx_test").GetDouble() - quantization.GetProperty("quantized_test").GetDouble(), -onnxBound, onnxBound);
        Assert.Equal(1800, quantization.GetProperty("calibration_images").GetInt32());
        var quantized = SparseModelFile.Load(Path.Combine(output, "model.int8.tsparse"));
        Assert.Equal(8, quantized.WeightBits);
        // Pruned weights stay pruned: every zero of the float file is a zero of the int8 file.
        var floats = SparseModelFile.Load(Path.Combine(output, "model.tsparse")).Network.Parameters().SelectMany(p => p.Values).ToArray();
        var levels = quantized.Network.Parameters().SelectMany(p => p.Values).ToArray();
        Assert.All(Enumerable.Range(0, floats.Length).Where(i => floats[i] == 0f), i => Assert.Equal(0f, levels[i]));
        Assert.Contains("pruned model quantized (int8 per channel)", result.StandardOutput);
    }

    [Theory]
    [InlineData(new[] { "--quantize", "int16" }, "--quantize: unknown value 'int16'")]
    [InlineData(new[] { "--quantize-scale", "tensor" }, "--quantize-scale: only with --quantize")]
    [InlineData(new[] { "--quantize", "int8", "--quantize-scale", "row" }, "--quantize-scale: unknown value 'row'")]
    [InlineData(new[] { "--quantize", "int8", "--model", "transformer-lm" }, "--quantize")]
    [InlineData(new[] { "--reg", "qat:3" }, "--reg")]
    public void Bad_quantization_flags_exit_2_with_one_line_naming_the_flag(string[] flags, string message)
    {
        // A missing data set would be reported too, after the flags; the transformer reads no --data.
        var result = CliProcess.Run(flags.Contains("--model") ? ["prune", .. flags] : ["prune", .. flags, "--data", "/nonexistent"]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line);
    }
}
