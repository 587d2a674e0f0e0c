using System.Globalization;

namespace Topiary.Cli;

/// <summary>
/// Reads <c>--name value</c>, <c>--name=value</c> and bare <c>--flag</c> arguments, and rejects
/// anything it was not asked about, so a typo never silently falls back to a default.
/// </summary>
internal sealed class ArgumentReader
{
    private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> consumed = new(StringComparer.Ordinal);

    public ArgumentReader(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new CliUsageException($"unexpected argument '{arg}' (options start with --)");
            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (!flags.Contains(name))
            {
                if (i + 1 >= list.Count || (list[i + 1].StartsWith("--", StringComparison.Ordinal) && !IsNumber(list[i + 1])))
                    throw new CliUsageException($"--{name}: a value is required");
                value = list[++i];
            }
            if (!values.TryAdd(name, value)) throw new CliUsageException($"--{name}: given more than once");
        }
    }

    /// <summary>Every option as given (null for a bare flag), e.g. to store a run's recipe.</summary>
    public IReadOnlyDictionary<string, string?> Given => values;

    public bool Has(string name)
    {
        consumed.Add(name);
        return values.ContainsKey(name);
    }

    public bool Flag(string name)
    {
        consumed.Add(name);
        if (!values.TryGetValue(name, out var value)) return false;
        return value is null || value switch
        {
            "true" or "on" or "yes" or "1" => true,
            "false" or "off" or "no" or "0" => false,
            _ => throw new CliUsageException($"--{name}: expected on or off, got '{value}'"),
        };
    }

    public string? String(string name)
    {
        consumed.Add(name);
        return values.TryGetValue(name, out var value) ? value ?? throw new CliUsageException($"--{name}: a value is required") : null;
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    public string Choice(string name, string fallback, IReadOnlyCollection<string> choices)
    {
        var value = String(name, fallback);
        return choices.Contains(value) ? value : throw new CliUsageException($"--{name}: unknown value '{value}' (expected one of: {string.Join(", ", choices)})");
    }

    public int Int(string name, int fallback) => Parse(name, fallback, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "an integer");

    public double Double(string name, double fallback) => Parse(name, fallback, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null, "a number");

    /// <summary>Fails on any argument that no command read.</summary>
    public void RejectUnknown(string command)
    {
        var unknown = values.Keys.Where(k => !consumed.Contains(k)).ToList();
        if (unknown.Count > 0) throw new CliUsageException($"--{unknown[0]}: unknown option for '{command}' (see topiary {command} --help)");
    }

    private T Parse<T>(string name, T fallback, Func<string, T?> parse, string what) where T : struct
    {
        var text = String(name);
        if (text is null) return fallback;
        return parse(text) ?? throw new CliUsageException($"--{name}: expected {what}, got '{text}'");
    }

    private static bool IsNumber(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
