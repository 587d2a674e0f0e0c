namespace Topiary.Tuning;

/// <summary>The strength tuners by the names the command line and recipes use, each with its defaults.</summary>
public static class StrengthTunings
{
    private static readonly (string Name, Func<StrengthTuner> Create)[] Entries =
    [
        ("hoag", () => new HoagTuner()),
        ("bilevel", () => new InexactBilevelTuner()),
        ("stn", () => new SelfTuningTuner()),
    ];

    /// <summary>The names, in the order of the help.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>The tuning called <paramref name="name"/> with its defaults (every evaluation, 4 training and 10 validation batches).</summary>
    /// <exception cref="ArgumentException">No tuner has that name; the message lists the names.</exception>
    public static StrengthTuning Create(string name) => Entries.FirstOrDefault(e => e.Name == name) is { Create: { } create }
        ? new StrengthTuning(name, create)
        : throw new ArgumentException($"unknown strength tuner '{name}' (expected one of: {string.Join(", ", Names)})", nameof(name));
}
