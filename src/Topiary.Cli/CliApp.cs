using Microsoft.Extensions.Logging;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;
using Topiary.Checkpoints;
using Topiary.Data;
using Topiary.Language;
using Topiary.Models;
using Topiary.Serialization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli;

/// <summary>
/// Entry point of the <c>topiary</c> tool. Bad input ends with one line on standard error and exit
/// code 2; a failure of the run itself with exit code 1; SIGINT (Ctrl-C) with 130 and SIGTERM with
/// 143, after the run has written a checkpoint. No stack traces unless
/// TOPIARY_DEBUG=1.
/// </summary>
internal static class CliApp
{
    public const int Usage = 2;

    private const string Overview = """
        topiary: sparse, well-regularized neural networks for .NET

          topiary prune [options]           dense training, then relevance-gated decay + iterative pruning
          topiary prune --model transformer-lm   the same on a character-level Transformer language model
          topiary prune --model transformer-mt   the same on a Spanish→English Transformer translator, with BLEU
          topiary eval --model-file FILE    test accuracy (or perplexity) and sparsity of a saved model
          topiary export --model-file FILE --format sparse|onnx|pytorch   compact sparse file, ONNX or PyTorch state dict
          topiary simplify --model-file FILE   physically remove dead neurons and filters
          topiary analyze --model-file FILE Lipschitz bounds (Gram iteration) and path-norms of a saved model
          topiary trim --model-file FILE    Net-Trim: layer-wise convex pruning (ADMM) of a saved model
          topiary compare [options]         several pruning methods × seeds side by side (comparison.json/.md/.png)
          topiary backend [--recheck]       libtorch, oneDNN and the convolution self-check on this machine
          topiary --version

        Run 'topiary COMMAND --help' for the options of a command.
        """;

    public static int Run(string[] args)
    {
        // Files of the catalogue's models load by name in every command, whatever it touches first.
        Topiary.Models.CatalogArchitectures.Register();
        using var interruption = new Interruption();
        var logger = new CliLogger(Environment.GetEnvironmentVariable("TOPIARY_VERBOSE") == "1" ? LogLevel.Debug : LogLevel.Warning);
        try
        {
            return Dispatch(args, logger, interruption.Token);
        }
        catch (RunInterruptedException e)
        {
            // Not an error: the run saved itself as asked.
            System.Console.Error.WriteLine($"topiary: interrupted by {interruption.SignalName}: {OneLine(e.Message)}");
            return interruption.ExitCode;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TOPIARY_DEBUG") != "1")
        {
            return Fail(e);
        }
    }

    private static int Dispatch(string[] args, ILogger logger, CancellationToken token)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            System.Console.WriteLine(Overview);
            return args.Length == 0 ? Usage : 0;
        }
        if (args[0] == "--version")
        {
            System.Console.WriteLine(ToolInfo.Version);
            return 0;
        }
        var rest = args.Skip(1).ToArray();
        var wantsHelp = rest.Contains("--help") || rest.Contains("-h");
        switch (args[0])
        {
            case "prune":
                if (wantsHelp)
                    return PrintHelp(rest.Contains(TransformerLanguageModel.ArchitectureName) ? LanguagePruneCommand.Help
                        : rest.Contains(TransformerTranslationModel.ArchitectureName) ? TranslationPruneCommand.Help : PruneCommand.Help);
                return PruneCommand.Run(new ArgumentReader(rest, PruneCommand.Flags), logger, token);
            case "compare":
                if (wantsHelp)
                    return PrintHelp(rest.Contains(TransformerLanguageModel.ArchitectureName) ? LanguageCompareCommand.Help
                        : rest.Contains(TransformerTranslationModel.ArchitectureName) ? TranslationCompareCommand.Help : CompareCommand.Help);
                return CompareCommand.Run(new ArgumentReader(rest, PruneCommand.Flags), logger, token);
            case "eval":
                if (wantsHelp) return PrintHelp(EvalCommand.Help);
                return EvalCommand.Run(new ArgumentReader(rest, new HashSet<string>()), logger);
            case "export":
                if (wantsHelp) return PrintHelp(ExportCommand.Help);
                return ExportCommand.Run(new ArgumentReader(rest, ExportCommand.Flags), logger);
            case "simplify":
                if (wantsHelp) return PrintHelp(SimplifyCommand.Help);
                return SimplifyCommand.Run(new ArgumentReader(rest, new HashSet<string>()), logger);
            case "analyze":
                if (wantsHelp) return PrintHelp(AnalyzeCommand.Help);
                return AnalyzeCommand.Run(new ArgumentReader(rest, new HashSet<string>()), logger);
            case "backend":
                if (wantsHelp) return PrintHelp(BackendCommand.Help);
                return BackendCommand.Run(new ArgumentReader(rest, BackendCommand.Flags), logger);
            case "trim":
                if (wantsHelp) return PrintHelp(TrimCommand.Help);
                return TrimCommand.Run(new ArgumentReader(rest, TrimCommand.Flags), logger, token);
            default:
                throw new CliUsageException($"unknown command '{args[0]}' (expected prune, compare, eval, export, simplify, analyze, trim or backend; see topiary --help)");
        }
    }

    private static int PrintHelp(string text)
    {
        System.Console.WriteLine(text);
        return 0;
    }

    private static int Fail(Exception e)
    {
        var (code, message) = e switch
        {
            CliUsageException => (Usage, e.Message),
            PruningOptionException or Topiary.Methods.PruningMethodException => (Usage, OptionFlags.Message(e)),
            IdxFormatException or ModelFileException or CheckpointException or CorpusFormatException => (Usage, e.Message),
            Topiary.Backend.BackendConfigurationException => (Usage, e.Message),
            Topiary.Pruning.Toolkit.PruningSelectionException or Topiary.Pruning.Toolkit.RecipeException => (Usage, e.Message),
            DivergenceLimitException => (1, $"{e.Message} (--lr, --gamma)"),
            OperationCanceledException => (130, "cancelled"),
            _ => (1, $"{e.GetType().Name}: {e.Message}"),
        };
        System.Console.Error.WriteLine($"topiary: error: {OneLine(message)}");
        return code;
    }

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
