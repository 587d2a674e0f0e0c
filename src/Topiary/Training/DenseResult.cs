using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using static TorchSharp.torch;
using Topiary.Pruning;

namespace Topiary.Training;

/// <summary>
/// The dense model's metrics, measured once after dense training and carried in every checkpoint, so a
/// resumed run reports the same dense numbers without training the dense model again.
/// </summary>
/// <param name="Validation">The dense model's validation metric and loss.</param>
/// <param name="Test">Its test metric and loss.</param>
/// <param name="TotalParameters">Its scalar parameters.</param>
public sealed record DenseResult(EvaluationResult Validation, EvaluationResult Test, long TotalParameters)
{
    private const string Key = "dense";

    /// <summary>Measures <paramref name="model"/> on the task's validation and test splits.</summary>
    public static DenseResult Measure(ITrainingTask task, nn.Module<Tensor, Tensor> model) =>
        new(task.Validate(model), task.Test(model), RunReportBuilder.Parameters(model));

    /// <summary>Reads what <see cref="ToAnnotations"/> stored; <paramref name="source"/> names the checkpoint in errors.</summary>
    public static DenseResult From(JsonObject annotations, string source)
    {
        try
        {
            var d = annotations[Key] as JsonObject ?? throw new CheckpointException(source, "the checkpoint lacks the dense model's metrics");
            return new DenseResult(new(Number(d, "val_metric"), Number(d, "val_loss")), new(Number(d, "test_metric"), Number(d, "test_loss")),
                d["total_params"]!.GetValue<long>());
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new CheckpointException(source, "the dense model's metrics in the checkpoint are damaged", e);
        }
    }

    /// <summary><paramref name="given"/> (or none) with these metrics added to its annotations, so that every checkpoint carries them.</summary>
    public CheckpointOptions CarriedBy(CheckpointOptions? given) => new()
    {
        Directory = given?.Directory,
        ResumeFrom = given?.ResumeFrom,
        Annotations = ToAnnotations(given?.Annotations),
        MaxConsecutiveDivergences = given?.MaxConsecutiveDivergences ?? 3,
    };

    /// <summary><paramref name="extra"/> (the caller's annotations) plus these metrics.</summary>
    public JsonObject ToAnnotations(JsonObject? extra)
    {
        var result = (JsonObject?)extra?.DeepClone() ?? new JsonObject();
        result[Key] = new JsonObject
        {
            ["val_metric"] = Text(Validation.Metric),
            ["val_loss"] = Text(Validation.Loss),
            ["test_metric"] = Text(Test.Metric),
            ["test_loss"] = Text(Test.Loss),
            ["total_params"] = TotalParameters,
        };
        return result;
    }

    // Stored as round-trip text: JSON numbers cannot hold NaN or infinity (a diverged dense model's loss).
    private static string Text(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static double Number(JsonObject node, string key) =>
        double.Parse(node[key]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
}
