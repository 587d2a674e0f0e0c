using System.Text.Json.Nodes;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Quantization;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// The quantized deployment of a pruned catalogue image classifier: writes the float32 and the int8 sparse files
/// (<see cref="SparseModelFile.SaveQuantized"/>) and measures, on the subject's validation and test images, the float
/// model, the model with fake-quantized weights (<see cref="FakeQuantization.Applied"/>, the same evaluation code) and
/// the int8 file as Topiary's sparse inference loads and runs it, and the ONNX QDQ model (<see cref="QdqOnnxExporter"/>, int8
/// activations calibrated on training images) as ONNX Runtime runs it.
/// </summary>
public static class QuantizedExport
{
    /// <summary>The float32 sparse file's name in a run folder.</summary>
    public const string FloatFileName = "model.tsparse";

    /// <summary>The int8 sparse file's name in a run folder.</summary>
    public const string QuantizedFileName = "model.int8.tsparse";

    /// <summary>The ONNX QDQ model's name in a run folder.</summary>
    public const string OnnxFileName = "model.int8.onnx";

    /// <summary>Training images the activation ranges of the ONNX QDQ model are observed on.</summary>
    public const int DefaultCalibrationImages = 2048;

    /// <summary>
    /// Writes both sparse files and the ONNX QDQ model (activations calibrated on the first <paramref name="calibrationImages"/>
    /// training images of the subject's split) into <paramref name="directory"/> and measures them.
    /// </summary>
    public static QuantizationSummary Write(string directory, ImageSubject subject, nn.Module<Tensor, Tensor> model, QuantizationScheme scheme,
        JsonObject? metadata = null, int calibrationImages = DefaultCalibrationImages)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scheme);
        var task = subject.Task;
        var floatValidation = task.Validate(model).Metric;
        var floatTest = task.Test(model).Metric;
        double quantizedValidation, quantizedTest;
        using (FakeQuantization.Applied(model, scheme))
        {
            quantizedValidation = task.Validate(model).Metric;
            quantizedTest = task.Test(model).Metric;
        }

        var network = CatalogNetworks.FromModel(subject.Architecture, subject.Data.ImageSize, model);
        var floatPath = Path.Combine(directory, FloatFileName);
        var quantizedPath = Path.Combine(directory, QuantizedFileName);
        SparseModelFile.Save(floatPath, network, subject.Architecture, metadata: metadata);
        var stored = SparseModelFile.SaveQuantized(quantizedPath, network, subject.Architecture, scheme, metadata);
        var loaded = SparseModelFile.Load(quantizedPath);
        double sparseFileTest;
        using (var inference = new SparseInferenceModel(loaded.Network))
            sparseFileTest = Accuracy(inference.Forward, subject.Data.TestImages, subject.Data.TestLabels);

        var calibrationCount = (int)Math.Min(calibrationImages, subject.Data.TrainImages.shape[0]);
        using var calibration = subject.Data.TrainImages.narrow(0, 0, calibrationCount).contiguous();
        var ranges = ActivationCalibration.Observe(network, calibration.data<float>().ToArray(), calibrationCount);
        var onnxPath = Path.Combine(directory, OnnxFileName);
        QdqOnnxExporter.Save(onnxPath, network, scheme, ranges);
        double onnxTest;
        using (var runtime = new OnnxRuntimeNetwork(network, File.ReadAllBytes(onnxPath)))
            onnxTest = Accuracy(runtime.Forward, subject.Data.TestImages, subject.Data.TestLabels);

        var quantizedWeights = WeightQuantizer.QuantizeWeights(network, scheme).ToDictionary(q => q.Name);
        long indexBytes = 0;
        double entropyBytes = 0;
        foreach (var tensor in stored)
        {
            if (!quantizedWeights.TryGetValue(tensor.Name, out var weight)) continue;
            indexBytes += tensor.PositionBytes;
            entropyBytes += tensor.Layout == TensorLayout.Dense ? 0 : IndexEntropy.GapBytes(weight.Levels.Select(l => (float)l).ToArray());
        }
        return new QuantizationSummary(scheme.ToString(), scheme.Bits, floatValidation, floatTest, quantizedValidation, quantizedTest, sparseFileTest,
            new FileInfo(floatPath).Length, new FileInfo(quantizedPath).Length, indexBytes, entropyBytes, new FileInfo(onnxPath).Length, onnxTest, calibrationCount);
    }

    /// <summary>Top-1 accuracy of <paramref name="forward"/> on the images, in batches of 1,000.</summary>
    public static double Accuracy(Func<Tensor, Tensor> forward, Tensor images, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(forward);
        long correct = 0, n = images.shape[0];
        for (long start = 0; start < n; start += 1000)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(1000, n - start);
            correct += forward(images.narrow(0, start, length).contiguous()).argmax(1).eq(labels.narrow(0, start, length)).sum().item<long>();
        }
        return n == 0 ? 0 : (double)correct / n;
    }
}
