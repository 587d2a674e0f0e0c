using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>
/// A regularizer that joins a method's own at a constant strength (the <c>--reg</c> terms), given as a factory
/// because regularizers keep per-tensor state and every session needs fresh ones.
/// </summary>
/// <param name="Name">Its name in reports (the catalogue name, e.g. <c>spectral</c>).</param>
/// <param name="Create">Builds a fresh instance.</param>
/// <param name="Strength">Its constant weight λ in L + λ·R (a threshold or radius for clipping, SAM and AMP).</param>
public sealed record ExtraRegularizer(string Name, Func<GradientRegularizer> Create, double Strength)
{
    /// <summary>The terms of a <c>--reg</c> list such as <c>spectral:1e-3,so:1e-4</c> (<see cref="RegularizerSpec"/>).</summary>
    /// <exception cref="FormatException">The list does not parse; the message says why.</exception>
    public static IReadOnlyList<ExtraRegularizer> Parse(string spec)
    {
        var items = spec.Split(',', StringSplitOptions.TrimEntries);
        var parsed = RegularizerSpec.Parse(spec);
        // Each item parses alone into a fresh instance, so that every session gets its own state.
        return parsed.Select((term, i) => new ExtraRegularizer(term.Regularizer.Name, () => RegularizerSpec.Parse(items[i]).Single().Regularizer, term.Strength)
        {
            Spec = items[i],
        }).ToList();
    }

    /// <summary>The <c>--reg</c> item it was parsed from, with its parameters (null when built in code).</summary>
    public string? Spec { get; init; }

    /// <summary>As in a <c>--reg</c> list: the item it was parsed from, else <c>name:strength</c>.</summary>
    public override string ToString() => Spec ?? $"{Name}:{Strength.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
}
