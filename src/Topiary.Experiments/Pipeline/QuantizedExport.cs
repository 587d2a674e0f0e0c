using System.Text.Json.Nodes;
using Topiary.Data;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Quantization;
using Topiary.Reporting;
using Topiary.Training;
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
        var (testImages, testLabels) = (subject.Data.TestImages, subject.Data.TestLabels);
        double sparseFileTest;
        using (var inference = new SparseInferenceModel(loaded.Network))
            sparseFileTest = Evaluation.Classify(inference.Forward, testImages, testLabels).Metric;

        var (ranges, calibrationCount) = Calibrate(network, subject.Data, calibrationImages);
        var onnxPath = Path.Combine(directory, OnnxFileName);
        QdqOnnxExporter.Save(onnxPath, network, scheme, ranges);
        double onnxTest;
        using (var runtime = new OnnxRuntimeNetwork(network, File.ReadAllBytes(onnxPath)))
            onnxTest = Evaluation.Classify(runtime.Forward, testImages, testLabels).Metric;

        // The loaded weights are level × scale, so their zeros are exactly the zero levels the file stores.
        var weights = loaded.Network.Parameters().Where(p => p.Shape.Length >= 2).ToDictionary(p => p.Name, p => p.Values);
        var storedWeights = stored.Where(t => weights.ContainsKey(t.Name)).ToList();
        var indexBytes = storedWeights.Sum(t => t.PositionBytes);
        var entropyBytes = storedWeights.Where(t => t.Layout != TensorLayout.Dense).Sum(t => IndexEntropy.GapBytes(weights[t.Name]));
        return new QuantizationSummary(scheme.ToString(), scheme.Bits, floatValidation, floatTest, quantizedValidation, quantizedTest, sparseFileTest,
            new FileInfo(floatPath).Length, new FileInfo(quantizedPath).Length, indexBytes, entropyBytes, new FileInfo(onnxPath).Length, onnxTest, calibrationCount);
    }

    /// <summary>
    /// The activation ranges of <paramref name="network"/> on the first <paramref name="images"/> training images of
    /// <paramref name="data"/> (all of them when there are fewer), and how many that was.
    /// </summary>
    public static (ActivationRanges Ranges, int Images) Calibrate(SequentialNetwork network, ImageClassificationData data, int images = DefaultCalibrationImages)
    {
        ArgumentNullException.ThrowIfNull(data);
        var count = (int)Math.Min(images, data.TrainImages.shape[0]);
        return (ActivationCalibration.Observe(network, data.TrainImages.narrow(0, 0, count)), count);
    }
}
