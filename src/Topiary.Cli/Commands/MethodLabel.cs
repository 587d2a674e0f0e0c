using System.Reflection;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary>
/// One entry of <c>topiary compare --methods</c>: a pruning method, optionally with its own method settings in brackets
/// (<c>relevance[alpha=auto:0.5,decay=decoupled,gamma=1]</c>, the flags without dashes, over the command line's) and
/// extra regularizers joined by <c>+</c> (<c>none+spectral:1e-3+so:1e-4</c>). One comparison can so put variants of a
/// method, and regularizers from the catalogue, side by side under the same pruner. The extras are the same terms as
/// <c>--reg</c> and come after any <c>--reg</c> given.
/// </summary>
internal static class MethodLabel
{
    /// <summary>
    /// The flags (without dashes) of the method settings: what a label's brackets, and a sweep's method axes, may set;
    /// the rest of the flags are shared by every method of a comparison.
    /// </summary>
    public static IReadOnlySet<string> SettingFlags { get; } = typeof(MethodSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => OptionFlags.Of(p.Name)).Where(f => f.StartsWith("--", StringComparison.Ordinal)).Select(f => f[2..]).ToHashSet();

    /// <summary>Splits a label into its method and its extra regularizers (as a <c>--reg</c> list, or null); the brackets are left out.</summary>
    public static (string Method, string? Regularizers) Split(string label)
    {
        var (method, _, rest) = Parts(label);
        var parts = rest.Split('+');
        return (method, parts.Length == 1 ? null : string.Join(",", parts.Skip(1)));
    }

    /// <summary>The settings in a label's brackets, as (flag without dashes, value; null for a bare flag), in order; empty without brackets.</summary>
    public static IReadOnlyList<(string Flag, string? Value)> Settings(string label)
    {
        var (_, settings, _) = Parts(label);
        return settings is null ? [] : SplitTopLevel(settings).Select(s => s.Split('=', 2) is [var flag, var value] ? (flag.Trim(), (string?)value.Trim()) : (s.Trim(), null)).ToList();
    }

    /// <summary>A <c>--methods</c> list split at the commas that are not inside a label's brackets.</summary>
    public static IReadOnlyList<string> SplitList(string text) =>
        SplitTopLevel(text).Select(s => s.Trim()).Where(s => s.Length > 0).ToList();

    /// <summary>The one-line error for the brackets and extras of <paramref name="label"/>, or null: checked early, so a typo fails before any training.</summary>
    public static string? Error(string label)
    {
        var open = label.IndexOf('[');
        var plus = label.IndexOf('+');
        if (open >= 0 && (plus < 0 || open < plus))
        {
            var close = label.IndexOf(']', open);
            if (close < 0 || (close + 1 < label.Length && label[close + 1] != '+'))
                return $"--methods: '{label}': expected METHOD[flag=value,…]+REG…, the settings in one pair of brackets right after the method";
            foreach (var (flag, _) in Settings(label))
                if (!SettingFlags.Contains(flag))
                    return $"--methods: '{label}': '{flag}' is not a method setting (in brackets: {string.Join(", ", SettingFlags.Order())})";
        }
        else if (label.Contains(']')) return $"--methods: '{label}': a ']' without its '['";
        var (_, extras) = Split(label);
        if (extras is null) return null;
        try
        {
            RegularizerSpec.Parse(extras);
            return null;
        }
        catch (FormatException e)
        {
            return $"--methods: '{label}': {e.Message}";
        }
    }

    /// <summary>A <c>--reg</c> list followed by a label's extras (either may be null).</summary>
    public static string? Join(string? regularizers, string? extras) => (regularizers, extras) switch
    {
        (null, var e) => e,
        (var r, null) => r,
        var (r, e) => r + "," + e,
    };

    /// <summary>
    /// <paramref name="label"/> with <paramref name="settings"/> added to its brackets (<c>relevance[decay=decoupled]</c>
    /// and alpha=auto:0.5 give <c>relevance[decay=decoupled,alpha=auto:0.5]</c>), as a sweep names its grid points.
    /// </summary>
    public static string WithSettings(string label, IReadOnlyList<string> settings)
    {
        if (settings.Count == 0) return label;
        var (method, given, rest) = Parts(label);
        return $"{method}[{string.Join(",", (given is null ? [] : new[] { given }).Concat(settings))}]{rest}";
    }

    // The method, the text inside its brackets (null without), and the rest (the +extras, with their first '+').
    private static (string Method, string? Settings, string Tail) Parts(string label)
    {
        var open = label.IndexOf('[');
        var plus = label.IndexOf('+');
        if (open < 0 || (plus >= 0 && plus < open))
            return plus < 0 ? (label, null, "") : (label[..plus], null, label[plus..]);
        var close = label.IndexOf(']', open);
        if (close < 0) return (label[..open], label[(open + 1)..], "");
        return (label[..open], label[(open + 1)..close], label[(close + 1)..]);
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '[') depth++;
            else if (text[i] == ']') depth = Math.Max(0, depth - 1);
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
