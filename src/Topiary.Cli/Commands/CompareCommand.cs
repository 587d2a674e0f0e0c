using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary compare</c>: several pruning methods × seeds on the same model, data, dense starting points and
/// budget; writes comparison.json, comparison.md and comparison.png.
/// </summary>
internal sealed class CompareCommand(ILogger logger) : Command<CompareSettings>
{
    public override int Execute(CommandContext context, CompareSettings settings, CancellationToken cancellationToken) =>
        ComparisonRunner.Run(settings, logger, cancellationToken);
}
