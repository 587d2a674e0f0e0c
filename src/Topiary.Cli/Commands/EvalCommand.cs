using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Backend;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary eval</c>: the test metric and sparsity of a saved model; the model in the file decides what runs.</summary>
internal sealed class EvalCommand(ILogger logger) : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings settings, CancellationToken cancellationToken)
    {
        var loaded = ModelFile.Load(settings.File);
        System.Console.WriteLine(BackendSummary.Line(TorchBackend.EnsureVerified(logger), get_num_threads()));
        using var prepared = ModelRuns.For(loaded.Architecture).Prepare(loaded, settings);
        EvalRun.Print(settings.File, loaded, prepared);
        return 0;
    }
}
