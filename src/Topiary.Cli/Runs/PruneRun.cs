using Microsoft.Extensions.Logging;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;
using Topiary.Cli.Settings;
using Topiary.Experiments;
using Topiary.Training;

namespace Topiary.Cli.Runs;

/// <summary>
/// <c>topiary prune</c> for every model: the run's settings (or, with <c>--resume</c>, those its folder recorded), the
/// model's data, checkpoints in the run folder, the experiment pipeline, the outputs and the summary.
/// </summary>
internal static class PruneRun
{
    public static int Execute(PruneSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var resuming = settings.Resume is not null;
        if (settings.Resume is { } directory)
        {
            settings = RunConfiguration.Resumed(settings, directory, "prune");
        }
        var options = settings.Options();
        options.Validate();
        var (outDirectory, threads) = (settings.OutDirectory, settings.ThreadCount);
        using var prepared = ModelRuns.For(settings.ModelName, logger).Prepare(settings, options);
        var backend = BackendSummary.Start(threads, logger);

        using var resume = RunCheckpoints.Prepare(outDirectory, resuming, settings, threads);
        var checkpoints = new CheckpointOptions { Directory = RunCheckpoints.Directory(outDirectory), ResumeFrom = resume };
        System.Console.WriteLine($"topiary {ToolInfo.Version}: {prepared.Description}, method {options.Method.Name}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        ExperimentResult result;
        try
        {
            result = TerminalProgress.Run(progress => Experiment.Run(prepared.Subject, options, prepared.Hyperparameters, prepared.Start, checkpoints,
                progress, logger, cancellationToken), prepared.Subject.Task.Metric.Name);
        }
        catch (OperationCanceledException e)
        {
            throw RunCheckpoints.Interrupted(e, outDirectory);
        }

        var (report, written) = RunOutputs.Write(outDirectory, result, prepared.Subject, settings.QuantizationScheme);
        Summary.Print(report, written);
        return 0;
    }
}
