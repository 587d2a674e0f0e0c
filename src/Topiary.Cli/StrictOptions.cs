using Spectre.Console.Cli;
using Topiary.Cli.Settings;

namespace Topiary.Cli;

/// <summary>
/// Refuses options no settings class declares, and an option given twice, so a typo never silently falls back to a
/// default and a repeated flag never silently loses one value. Spectre's strict parsing would refuse unknown options
/// too, but on a missing value at the end (<c>prune --data</c>) it retries with a placeholder command name in that
/// place and binds the placeholder as the value; relaxed parsing keeps the unknown options here instead.
/// </summary>
internal sealed class StrictOptions : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (context.Remaining.Parsed.FirstOrDefault() is { } unknown)
            throw new CliUsageException($"{unknown.Key}: unknown option for '{context.Name}' (see topiary {context.Name} --help)");
        if (context.Remaining.Raw.Count > 0)
            throw new CliUsageException($"unexpected argument '{context.Remaining.Raw[0]}' (options start with --)");
        // Values never start with "--" (Spectre reads such a word as the next option), so these are the options given.
        // A list option (--grid) is given once per value.
        var repeated = context.Arguments.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a.Split('=', ':')[0])
            .Where(name => GivenOptions.TypeOf(settings.GetType(), name) is not { IsArray: true })
            .GroupBy(name => name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new CliUsageException($"{repeated.Key}: given more than once");
    }
}
