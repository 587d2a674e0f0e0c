using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Backend;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;
using Topiary.Data;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary eval</c>: the test metric and sparsity of a saved model; the model in the file decides what runs. With
/// <c>--calibration</c>, an image model's calibration and robustness (<see cref="CalibrationRun"/>).
/// </summary>
internal sealed class EvalCommand(ILogger logger) : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings settings, CancellationToken cancellationToken)
    {
        var loaded = ModelFile.Load(settings.File);
        if (settings.Calibration && ModelFamilies.Of(loaded.Architecture) != ModelFamily.Image)
            throw new CliUsageException($"--calibration: {settings.File} holds a {loaded.Architecture} model; calibration is measured on image classifiers");
        var against = settings.Against is { } file ? ModelFile.Load(file) : null;
        if (against is not null && (against.Architecture, against.ImageSize, against.Classes) != (loaded.Architecture, loaded.ImageSize, loaded.Classes))
            throw new CliUsageException($"--against: {settings.Against} holds a {against.Architecture} model for {against.ImageSize}×{against.ImageSize} images and {against.Classes} classes; {settings.File} holds a {loaded.Architecture} for {loaded.ImageSize}×{loaded.ImageSize} and {loaded.Classes}");
        System.Console.WriteLine(BackendSummary.Line(TorchBackend.EnsureVerified(logger), get_num_threads()));
        using var prepared = ModelRuns.For(loaded.Architecture).Prepare(loaded, settings);
        EvalRun.Print(settings.File, loaded, prepared);
        if (settings.Calibration && prepared.Owner is ImageClassificationData data)
        {
            loaded.Model.eval();
            against?.ApplyMasks();
            against?.Model.eval();
            CalibrationRun.Print(loaded.Model, against is null ? null : (settings.Against!, against.Model), data, Math.Min(settings.CorruptedImages, (int)data.TestImages.shape[0]));
        }
        return 0;
    }
}
