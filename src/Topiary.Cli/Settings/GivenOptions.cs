using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>
/// The options a user gave, read back from typed settings: an option is given when its value is set (nullable
/// options have no value otherwise) or, for a flag, when it is on. Used to refuse flags that do not apply, to
/// store a run's options for <c>--resume</c> and to restore them.
/// </summary>
internal static class GivenOptions
{
    /// <summary>Each given option as <c>--name</c>, its property and its value, in declaration order (base classes first).</summary>
    public static IEnumerable<(string Flag, PropertyInfo Property, object Value)> Of(CommandSettings settings) =>
        Options(settings.GetType())
            .Select(o => (o.Flag, o.Property, Value: o.Property.GetValue(settings)))
            .Where(o => o.Value is not null and not false)
            .Select(o => (o.Flag, o.Property, o.Value!));

    /// <summary>The first given option that <paramref name="model"/> does not take, as a one-line error, or null.</summary>
    public static string? Inapplicable(CommandSettings settings, string model) =>
        Of(settings).Select(o => (o.Flag, Applies: o.Property.GetCustomAttribute<AppliesToAttribute>()))
            .Where(o => o.Applies is { } a && (a.Models & ModelFamilies.Of(model)) == 0)
            .Select(o => $"{o.Flag}: {o.Applies!.Refusal(model)}")
            .FirstOrDefault();

    /// <summary>Given options by name without dashes, as text (null for a flag), e.g. for a run's recipe.</summary>
    public static Dictionary<string, string?> Text(CommandSettings settings) =>
        Of(settings).ToDictionary(o => o.Flag[2..], o => o.Value switch
        {
            true => null,
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            var v => Convert.ToString(v, CultureInfo.InvariantCulture),
        });

    /// <summary>Sets the option <paramref name="name"/> (without dashes) of <paramref name="settings"/> from its text, as the command line would.</summary>
    /// <exception cref="CliUsageException">The settings have no such option, or the text is not a value of its type.</exception>
    public static void Assign(CommandSettings settings, string name, string? text)
    {
        var property = Options(settings.GetType()).FirstOrDefault(o => o.Flag == "--" + name).Property
            ?? throw new CliUsageException($"--{name}: unknown option");
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        try
        {
            property.SetValue(settings, text is null && type == typeof(bool) ? true : TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text ?? ""));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException)
        {
            throw new CliUsageException($"--{name}: expected {TypeName(type)}, got '{text}'");
        }
    }

    /// <summary>The type of the value of <paramref name="flag"/> (<c>--name</c>) in <paramref name="settingsType"/>, or null.</summary>
    public static Type? TypeOf(Type settingsType, string flag) =>
        Options(settingsType).Where(o => o.Flag == flag).Select(o => Nullable.GetUnderlyingType(o.Property.PropertyType) ?? o.Property.PropertyType).FirstOrDefault();

    /// <summary>How an error names a type: "an integer", "a number".</summary>
    public static string TypeName(Type type) => type == typeof(int) ? "an integer" : type == typeof(double) ? "a number" : type == typeof(bool) ? "true or false" : $"a {type.Name}";

    private static IEnumerable<(string Flag, PropertyInfo Property)> Options(Type type) =>
        Hierarchy(type).Reverse().SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(p => (Attribute: p.GetCustomAttribute<CommandOptionAttribute>(), Property: p))
            .Where(o => o.Attribute is { LongNames.Count: > 0 })
            .Select(o => ("--" + o.Attribute!.LongNames[0], o.Property));

    private static IEnumerable<Type> Hierarchy(Type type)
    {
        for (var t = type; t is not null && t != typeof(CommandSettings); t = t.BaseType) yield return t;
    }
}
