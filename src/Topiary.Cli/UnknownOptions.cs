using Spectre.Console.Cli;

namespace Topiary.Cli;

/// <summary>
/// Refuses options no settings class declares, so a typo never silently falls back to a default. Spectre's strict
/// parsing would refuse them too, but on a missing value at the end (<c>prune --data</c>) it retries with a
/// placeholder command name in that place and binds the placeholder as the value; relaxed parsing keeps the
/// unknown options here instead.
/// </summary>
internal sealed class UnknownOptions : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (context.Remaining.Parsed.FirstOrDefault() is { } unknown)
            throw new CliUsageException($"{unknown.Key}: unknown option for '{context.Name}' (see topiary {context.Name} --help)");
        if (context.Remaining.Raw.Count > 0)
            throw new CliUsageException($"unexpected argument '{context.Remaining.Raw[0]}' (options start with --)");
    }
}
