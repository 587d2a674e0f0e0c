using Spectre.Console;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>
/// Settings whose checks are one-line errors that name the flag. Each class adds its checks after its base's, so
/// the first error reported is the first a reader of the class chain would expect.
/// </summary>
internal abstract class CliSettings : CommandSettings
{
    /// <summary>The checks of this class and its bases, null where a check passed.</summary>
    protected virtual IEnumerable<string?> Errors() => [];

    public sealed override ValidationResult Validate() =>
        Errors().FirstOrDefault(e => e is not null) is { } error ? ValidationResult.Error(error) : ValidationResult.Success();

    /// <summary><c>FLAG: must be at least MIN, got VALUE</c> when a given value is below <paramref name="minimum"/>.</summary>
    protected static string? AtLeast(string flag, int? value, int minimum) =>
        value < minimum ? $"{flag}: must be at least {minimum}, got {value}" : null;

    /// <summary><c>FLAG: unknown value 'V' (expected one of: …)</c> when a given value is not one of <paramref name="choices"/>.</summary>
    internal static string? OneOf(string flag, string? value, IReadOnlyCollection<string> choices) =>
        value is null || choices.Contains(value) ? null : $"{flag}: unknown value '{value}' (expected one of: {string.Join(", ", choices)})";
}
