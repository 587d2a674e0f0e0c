using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;

namespace Topiary.Tests.Deployment;

/// <summary>Runs an exported ONNX file with ONNX Runtime, the independent check on <see cref="Topiary.Inference.OnnxExporter"/>.</summary>
internal static class OnnxRuntimeRunner
{
    /// <summary>The graph's "output" for "input" = <paramref name="images"/>, flattened.</summary>
    public static float[] Run(string path, Tensor images)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<float>(images.contiguous().flatten().data<float>().ToArray(), images.shape.Select(d => (int)d).ToArray());
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", input) });
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    /// <summary>ONNX Runtime's output is within <paramref name="tolerance"/> of TorchSharp's, entry by entry.</summary>
    public static void AssertAgrees(Tensor torchSharpOutput, float[] onnxOutput, double tolerance)
    {
        var expected = torchSharpOutput.contiguous().flatten().data<float>().ToArray();
        Assert.Equal(expected.Length, onnxOutput.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - onnxOutput[i]) <= tolerance, $"[{i}]: TorchSharp {expected[i]}, ONNX Runtime {onnxOutput[i]}");
    }
}
