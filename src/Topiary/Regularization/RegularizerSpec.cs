using System.Globalization;

namespace Topiary.Regularization;

/// <summary>
/// Parses a list of weighted regularizers such as <c>spectral:1e-3,orth:1e-4</c> (the <c>--reg</c> option):
/// comma-separated <c>name[:strength]</c>, any name of <see cref="RegularizerCatalog.Names"/>; a missing
/// strength takes the regularizer's default.
/// </summary>
public static class RegularizerSpec
{
    /// <summary>The terms of <paramref name="spec"/>, each with a constant strength.</summary>
    /// <exception cref="FormatException">An empty item, an unknown name or a strength that is not a finite number ≥ 0; the message says which.</exception>
    public static IReadOnlyList<RegularizerTerm> Parse(string spec)
    {
        var terms = new List<RegularizerTerm>();
        foreach (var item in spec.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.Length == 0) throw new FormatException($"empty item in '{spec}' (expected name[:strength],...)");
            var parts = item.Split(':', 2);
            var name = parts[0];
            if (!RegularizerCatalog.Names.Contains(name))
                throw new FormatException($"unknown regularizer '{name}' (expected one of: {string.Join(", ", RegularizerCatalog.Names)})");
            var strength = RegularizerLibrary.Find(name)?.DefaultStrength ?? 1e-3;
            if (parts.Length == 2 && !(double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out strength) && double.IsFinite(strength) && strength >= 0))
                throw new FormatException($"strength of '{name}' must be a finite number ≥ 0, got '{parts[1]}'");
            terms.Add(new RegularizerTerm(RegularizerCatalog.Create(name), strength));
        }
        if (terms.Count(t => t.Regularizer.ReplacesBackward) > 1)
            throw new FormatException($"at most one of {string.Join(", ", terms.Where(t => t.Regularizer.ReplacesBackward).Select(t => t.Regularizer.Name))} (each replaces the backward pass)");
        return terms;
    }
}
