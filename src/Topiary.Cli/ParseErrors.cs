using System.Text.RegularExpressions;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;

namespace Topiary.Cli;

/// <summary>
/// Spectre's parse and conversion errors in the tool's one-line form, naming the flag. Spectre reports them by
/// message only, and a failed conversion does not name its option: that one is found again in the arguments.
/// </summary>
internal static partial class ParseErrors
{
    private const string Commands = "prune, compare, sweep, eval, export, simplify, analyze, trim or backend";

    public static string Message(CommandRuntimeException e, string[] args, IReadOnlyDictionary<string, Type> settingsOf)
    {
        var command = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "";
        var text = e.Message;
        if (UnknownOption().Match(text) is { Success: true } unknown)
            return command.Length == 0
                ? $"{Dash(unknown.Groups[1].Value)}: unknown option (see topiary --help)"
                : $"{Dash(unknown.Groups[1].Value)}: unknown option for '{command}' (see topiary {command} --help)";
        if (UnexpectedOption().Match(text) is { Success: true } unexpected)
            return $"{Dash(unexpected.Groups[1].Value)}: unknown option before a command (see topiary --help)";
        if (NoValue().Match(text) is { Success: true } noValue)
            return $"{Dash(noValue.Groups[1].Value)}: a value is required";
        if (UnknownCommand().Match(text) is { Success: true } unknownCommand)
            return $"unknown command '{unknownCommand.Groups[1].Value}' (expected {Commands}; see topiary --help)";
        if (NoArgument().Match(text) is { Success: true } argument)
            return $"unexpected argument '{argument.Groups[1].Value}' (options start with --)";
        if (text.StartsWith("Flags cannot be assigned a value", StringComparison.Ordinal))
            return $"{args.FirstOrDefault(a => a.Contains('=') && a.StartsWith("--", StringComparison.Ordinal))?.Split('=')[0] ?? "a flag"}: takes no value other than true or false";
        if (Conversion().Match(text) is { Success: true } conversion)
        {
            var value = conversion.Groups[1].Value;
            var flag = FlagWithValue(args, value);
            var type = flag is not null && settingsOf.TryGetValue(command, out var settings) ? GivenOptions.TypeOf(settings, flag) : null;
            return $"{flag ?? "an option"}: expected {(type is null ? "another value" : GivenOptions.TypeName(type))}, got '{value}'";
        }
        return text;
    }

    /// <summary>The flag given <paramref name="value"/>, as <c>--flag value</c> or <c>--flag=value</c>.</summary>
    private static string? FlagWithValue(string[] args, string value)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) continue;
            var separator = args[i].IndexOfAny(['=', ':']);
            if (separator > 0 ? args[i][(separator + 1)..] == value : i + 1 < args.Length && args[i + 1] == value)
                return separator > 0 ? args[i][..separator] : args[i];
        }
        return null;
    }

    private static string Dash(string name) => name.StartsWith('-') ? name : (name.Length == 1 ? "-" : "--") + name;

    [GeneratedRegex("^Unknown option '(.+)'\\.")]
    private static partial Regex UnknownOption();

    [GeneratedRegex("^Unexpected option '(.+)'\\.")]
    private static partial Regex UnexpectedOption();

    [GeneratedRegex("^Option '(.+)' is defined but no value has been provided\\.")]
    private static partial Regex NoValue();

    [GeneratedRegex("^Unknown command '(.+)'\\.")]
    private static partial Regex UnknownCommand();

    [GeneratedRegex("^Could not match '(.+)' with an argument\\.")]
    private static partial Regex NoArgument();

    [GeneratedRegex("^Failed to convert '(.*)' to ")]
    private static partial Regex Conversion();
}
