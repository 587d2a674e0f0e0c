using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Commands;
using Topiary.Data;
using Topiary.Reporting;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Cli.Runs;

/// <summary>
/// <c>eval --calibration</c> (seed paper #112): ECE, NLL and accuracy of an image model on the clean test set and on
/// its first images under each corruption at each severity, beside the same for the <c>--against</c> model (the
/// dense model a pruned one came from), since pruning is known to hurt calibration.
/// </summary>
internal static class CalibrationRun
{
    /// <summary>The seed of the Gaussian noise: the same on every call, so two models see the same corrupted images.</summary>
    public const ulong CorruptionSeed = 0;

    /// <param name="model">The evaluated model, masks applied, in evaluation mode.</param>
    /// <param name="against">The model to compare with, or null.</param>
    /// <param name="data">The test data both are measured on.</param>
    /// <param name="corruptedImages">How many of the first test images the corruptions are applied to (0: none).</param>
    public static void Print(nn.Module<Tensor, Tensor> model, (string File, nn.Module<Tensor, Tensor> Model)? against, ImageClassificationData data, int corruptedImages)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var models = against is { } a ? new[] { model, a.Model } : [model];
        var rows = new List<(string Condition, CalibrationResult[] Results)>
        {
            ("clean", [.. models.Select(m => Calibration.Evaluate(m, data.TestImages, data.TestLabels))]),
        };
        if (corruptedImages > 0)
        {
            using var scope = NewDisposeScope();
            var labels = data.TestLabels.narrow(0, 0, corruptedImages);
            foreach (var corruption in ImageCorruption.All)
            {
                using var step = NewDisposeScope();
                var images = data.CorruptedTestImages(corruption, CorruptionSeed).narrow(0, 0, corruptedImages);
                rows.Add(($"{ImageCorruption.NameOf(corruption.Kind)} {corruption.Severity}", [.. models.Select(m => Calibration.Evaluate(m, images, labels))]));
            }
        }
        var inv = CultureInfo.InvariantCulture;
        System.Console.WriteLine($"calibration (#112, ECE over {Calibration.DefaultBins} bins, NLL in nats): clean on the {data.TestImages.shape[0]} test images, "
            + (corruptedImages > 0 ? $"corruptions (Gaussian noise and blur, contrast; CIFAR-10-C severities 1-5; noise seed {CorruptionSeed}) on the first {corruptedImages}" : "no corruptions")
            + (against is { } b ? $"; against {b.File}" : "") + $"; {watch.Elapsed.TotalSeconds.ToString("F2", inv)} s");
        var table = new Table().Collapse().AddColumns("condition", "accuracy", "ECE", "NLL");
        if (against is not null) table.AddColumns("against: acc.", "ECE", "NLL");
        foreach (var (condition, results) in rows)
            table.AddRow([condition, .. results.SelectMany(r => new[] { Summary.Percent(r.Accuracy), r.ExpectedCalibrationError.ToString("F4", inv), r.NegativeLogLikelihood.ToString("F4", inv) })]);
        AnsiConsole.Write(table);
    }
}
