using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Checkpoints;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;
using Topiary.Data;
using Topiary.Language;
using Topiary.Serialization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli;

/// <summary>
/// Entry point of the <c>topiary</c> tool. Bad input ends with one line on standard error and exit
/// code 2; a failure of the run itself with exit code 1; SIGINT (Ctrl-C) with 130 and SIGTERM with
/// 143, after the run has written a checkpoint. No stack traces unless TOPIARY_DEBUG=1.
/// </summary>
internal static class CliApp
{
    public const int Usage = 2;

    public static int Run(string[] args) => Run(args, System.Console.Out, System.Console.Error);

    /// <summary>
    /// Runs the tool with help and the version written to <paramref name="stdout"/> and errors to
    /// <paramref name="stderr"/>, so tests can run it in-process; what commands print goes to the console.
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // Files of the catalogue's models load by name in every command, whatever it touches first.
        Topiary.Experiments.CatalogArchitectures.Register();
        using var interruption = new Interruption();
        var logger = new CliLogger(Environment.GetEnvironmentVariable("TOPIARY_VERBOSE") == "1" ? LogLevel.Debug : LogLevel.Warning);
        try
        {
            var app = Create(stdout, logger);
            if (args.Length == 0)
            {
                app.Run(["--help"]);
                return Usage;
            }
            return app.Run(args is ["help"] ? ["--help"] : args, interruption.Token);
        }
        catch (RunInterruptedException e)
        {
            // Not an error: the run saved itself as asked.
            stderr.WriteLine($"topiary: interrupted by {interruption.SignalName}: {OneLine(e.Message)}");
            return interruption.ExitCode;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TOPIARY_DEBUG") != "1")
        {
            return Fail(e, args, stderr);
        }
    }

    private static CommandApp Create(TextWriter stdout, ILogger logger)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("topiary");
            config.SetApplicationVersion(ToolInfo.Version);
            config.ConfigureConsole(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stdout), Interactive = InteractionSupport.No }));
            // Errors are ours to report, in one line (Fail), not Spectre's panels.
            config.PropagateExceptions();
            config.SetInterceptor(new StrictOptions());
            config.Settings.Registrar.RegisterInstance<ILogger>(logger);
            Add<PruneCommand, Settings.PruneSettings>(config, "prune")
                .WithDescription("dense training, then relevance-gated decay + iterative pruning of lenet5, lenet300, a character-level Transformer language model (transformer-lm) or a Spanish→English translator (transformer-mt)")
                .WithExample("prune").WithExample("prune", "--model", "transformer-lm").WithExample("prune", "--resume", "runs/DIR");
            Add<CompareCommand, Settings.CompareSettings>(config, "compare")
                .WithDescription("several pruning methods × seeds side by side (comparison.json/.md/.png)")
                .WithExample("compare").WithExample("compare", "--model", "transformer-lm", "--methods", "relevance,none");
            config.AddBranch("sweep", sweep =>
            {
                sweep.SetDescription("a comparison (and a grid of settings) as independent cells for Slurm job arrays or local processes: plan, run-cell, run, collect, slurm");
                AddTo<SweepPlanCommand, Settings.SweepPlanSettings>(sweep, "plan")
                    .WithDescription("write sweep.json: the cells of a comparison (compare's flags) over --grid axes, dense models as cells of their own")
                    .WithExample("sweep", "plan", "--grid", "alpha=1,auto:0.5", "--grid", "gamma=1e-4,1e-3", "--out", "runs/sweep");
                AddTo<SweepRunCellCommand, Settings.SweepRunCellSettings>(sweep, "run-cell")
                    .WithDescription("run one cell into its folder: skipped when finished, continued from its checkpoint when interrupted, refused while another runner holds it (exit 75)")
                    .WithExample("sweep", "run-cell", "runs/sweep/sweep.json", "--index", "3");
                AddTo<SweepRunCommand, Settings.SweepRunSettings>(sweep, "run")
                    .WithDescription("run every unfinished cell in local processes, then collect")
                    .WithExample("sweep", "run", "runs/sweep/sweep.json", "--local-jobs", "2");
                AddTo<SweepCollectCommand, Settings.SweepCollectSettings>(sweep, "collect")
                    .WithDescription("merge the finished cells into comparison.json, comparison.md and comparison.png; list the cells that have not finished (exit 1)");
                AddTo<SweepSlurmCommand, Settings.SweepSlurmSettings>(sweep, "slurm")
                    .WithDescription("write sbatch scripts: a job array of the dense cells, a dependent one (afterok) of the rest, and submit.sh")
                    .WithExample("sweep", "slurm", "runs/sweep/sweep.json", "--max-running", "8", "--mem", "3G", "--submit");
            });
            Add<EvalCommand, Settings.EvalSettings>(config, "eval").WithDescription("test accuracy (or perplexity, BLEU) and sparsity of a saved model; with --calibration, ECE, NLL and accuracy under corruptions");
            Add<ExportCommand, Settings.ExportSettings>(config, "export").WithDescription("compact sparse file, ONNX or PyTorch state dict of a saved model");
            Add<SimplifyCommand, Settings.SimplifySettings>(config, "simplify").WithDescription("physically remove dead neurons and filters");
            Add<AnalyzeCommand, Settings.AnalyzeSettings>(config, "analyze").WithDescription("Lipschitz bounds (Gram iteration) and path-norms of a saved model; with --koopman, --nuclear-norm, --grad-norm, --neural-collapse, those diagnostics; with --gate, its relevance gate on a batch");
            Add<TrimCommand, Settings.TrimSettings>(config, "trim").WithDescription("Net-Trim: layer-wise convex pruning (ADMM) of a saved model, re-fitting each linear layer sparsely within ε");
            Add<BackendCommand, Settings.BackendSettings>(config, "backend").WithDescription(
                "libtorch, oneDNN and the convolution self-check on this machine. Environment: TOPIARY_ONEDNN=auto|off, TOPIARY_SIMD=auto|avx512|avx2|portable, TOPIARY_CHECK_CACHE=on|off, TOPIARY_CACHE_DIR=DIR");
        });
        return app;
    }

    /// <summary>Each command's settings, so that an error about a value can say what the flag takes.</summary>
    private static readonly Dictionary<string, Type> SettingsOf = [];

    private static ICommandConfigurator Add<TCommand, TSettings>(IConfigurator config, string name)
        where TCommand : Command<TSettings>
        where TSettings : CommandSettings
    {
        SettingsOf[name] = typeof(TSettings);
        return config.AddCommand<TCommand>(name);
    }

    private static ICommandConfigurator AddTo<TCommand, TSettings>(IConfigurator<CommandSettings> branch, string name)
        where TCommand : Command<TSettings>
        where TSettings : CommandSettings
    {
        SettingsOf[name] = typeof(TSettings);
        return branch.AddCommand<TCommand>(name);
    }

    private static int Fail(Exception e, string[] args, TextWriter stderr)
    {
        var (code, message) = e switch
        {
            CliUsageException => (Usage, e.Message),
            CommandRuntimeException spectre => (Usage, ParseErrors.Message(spectre, args, SettingsOf)),
            PruningOptionException or Topiary.Methods.PruningMethodException => (Usage, OptionFlags.Message(e)),
            IdxFormatException or ModelFileException or CheckpointException or CorpusFormatException => (Usage, e.Message),
            Topiary.Comparison.ComparisonStoreException => (Usage, e.Message),
            Topiary.Backend.BackendConfigurationException => (Usage, e.Message),
            Topiary.Pruning.Toolkit.PruningSelectionException or Topiary.Pruning.Toolkit.RecipeException => (Usage, e.Message),
            DivergenceLimitException => (1, $"{e.Message} (--lr, --gamma)"),
            Sweeps.CellBusyException => (Sweeps.CellBusyException.ExitCode, e.Message),
            Sweeps.SweepIncompleteException => (1, e.Message),
            OperationCanceledException => (130, "cancelled"),
            _ => (1, $"{e.GetType().Name}: {e.Message}"),
        };
        stderr.WriteLine($"topiary: error: {OneLine(message)}");
        return code;
    }

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
