using System.Globalization;

namespace Topiary.Regularization;

/// <summary>
/// Parses a list of weighted regularizers such as <c>spectral:1e-3,orth:1e-4,gor:1e-4:cross=1</c> (the <c>--reg</c>
/// option): comma-separated <c>name[:strength][:key=value]...</c>, any name of <see cref="RegularizerCatalog.Names"/>;
/// a missing strength takes the regularizer's default, and the keys are the entry's
/// <see cref="RegularizerEntry.Parameters"/> (a bare <c>key</c> means <c>key=1</c>, for switches).
/// </summary>
public static class RegularizerSpec
{
    /// <summary>The terms of <paramref name="spec"/>, each with a constant strength.</summary>
    /// <exception cref="FormatException">An empty item, an unknown name or parameter, or a value out of range; the message says which.</exception>
    public static IReadOnlyList<RegularizerTerm> Parse(string spec)
    {
        var terms = new List<RegularizerTerm>();
        foreach (var item in spec.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.Length == 0) throw new FormatException($"empty item in '{spec}' (expected name[:strength][:key=value],...)");
            var parts = item.Split(':');
            var name = parts[0];
            if (!RegularizerCatalog.Names.Contains(name))
                throw new FormatException($"unknown regularizer '{name}' (expected one of: {string.Join(", ", RegularizerCatalog.Names)})");
            var entry = RegularizerLibrary.Find(name);
            var strength = entry?.DefaultStrength ?? 1e-3;
            if (parts.Length >= 2 && parts[1].Length > 0 && !(TryNumber(parts[1], out strength) && strength >= 0))
                throw new FormatException($"strength of '{name}' must be a finite number ≥ 0, got '{parts[1]}'");
            if (entry?.MaxStrength is { } most && (strength > most || (entry.MaxStrengthExcluded && strength == most)))
                throw new FormatException($"strength of '{name}' ({entry.StrengthMeaning}) must be {(entry.MaxStrengthExcluded ? "below" : "at most")} {most.ToString(CultureInfo.InvariantCulture)}, got '{parts[1]}'");
            var arguments = Arguments(name, entry, parts.Skip(2));
            terms.Add(new RegularizerTerm(Create(name, entry, arguments), strength));
        }
        if (terms.Count(t => t.Regularizer.ReplacesBackward) > 1)
            throw new FormatException($"at most one of {string.Join(", ", terms.Where(t => t.Regularizer.ReplacesBackward).Select(t => t.Regularizer.Name))} (each replaces the backward pass)");
        return terms;
    }

    private static Dictionary<string, double> Arguments(string name, RegularizerEntry? entry, IEnumerable<string> items)
    {
        var accepted = entry?.Parameters ?? Array.Empty<string>();
        var arguments = new Dictionary<string, double>();
        foreach (var item in items)
        {
            var pair = item.Split('=', 2);
            var key = pair[0];
            if (!accepted.Contains(key))
                throw new FormatException(accepted.Count == 0 ? $"'{name}' takes no parameters, got '{item}'"
                    : $"unknown parameter '{key}' of '{name}' (expected one of: {string.Join(", ", accepted)})");
            var value = 1.0;
            if (pair.Length == 2 && !TryNumber(pair[1], out value))
                throw new FormatException($"parameter '{key}' of '{name}' must be a finite number, got '{pair[1]}'");
            if (!arguments.TryAdd(key, value)) throw new FormatException($"parameter '{key}' of '{name}' is given twice");
        }
        return arguments;
    }

    private static GradientRegularizer Create(string name, RegularizerEntry? entry, IReadOnlyDictionary<string, double> arguments)
    {
        if (entry is null) return RegularizerCatalog.Create(name);
        try
        {
            return entry.Create(arguments);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // The constructors name their own argument; the user wrote the spec's parameter.
            throw new FormatException($"'{name}': {e.Message.Split(" (Parameter")[0].Split('\n')[0]}");
        }
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}
