using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary prune</c>: dense training, then pruning, for any model; the model decides what runs.</summary>
internal sealed class PruneCommand(ILogger logger) : Command<PruneSettings>
{
    public override int Execute(CommandContext context, PruneSettings settings, CancellationToken cancellationToken) =>
        PruneRun.Execute(settings, logger, cancellationToken);
}
