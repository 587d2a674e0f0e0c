using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>
/// Pruning methods by name, for command lines and recipes (code constructs the types directly): the flagship
/// <c>relevance</c>, its baselines <c>l2</c>, <c>l1</c> and <c>none</c>, the competing <c>lobster</c>,
/// <c>hypersparse</c> and <c>gmp</c>, N:M semi-structured <c>nm</c>, neuron and filter pruning <c>structured</c>, dynamic sparse training <c>rigl</c> and <c>set</c>, and every regularizer of the catalogue with the iterative crop.
/// <see cref="Register"/> adds a method of one's own.
/// </summary>
public static class PruningMethodRegistry
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, Func<PruningMethod>> Factories = Defaults();

    /// <summary>The competing methods, beyond the regularizer catalogue.</summary>
    public static IReadOnlyList<string> Competing { get; } = ["lobster", "hypersparse", "gmp", "nm", "structured", "rigl", "set"];

    /// <summary>Every registered name, in registration order.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate) return Factories.Keys.ToList();
        }
    }

    /// <summary>The method called <paramref name="name"/> with its default settings.</summary>
    /// <exception cref="ArgumentException">No method has that name.</exception>
    public static PruningMethod Create(string name)
    {
        Func<PruningMethod>? factory;
        lock (Gate) Factories.TryGetValue(name, out factory);
        return factory?.Invoke() ?? throw new ArgumentException($"unknown method '{name}' (expected one of: {string.Join(", ", Names)})", nameof(name));
    }

    /// <summary>Registers (or replaces) a method under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<PruningMethod> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (Gate) Factories[name] = factory;
    }

    private static Dictionary<string, Func<PruningMethod>> Defaults()
    {
        var factories = new Dictionary<string, Func<PruningMethod>>
        {
            ["relevance"] = () => new RelevancePruning(),
            ["l2"] = () => new L2Pruning(),
            ["l1"] = () => new L1Pruning(),
            ["none"] = () => new MagnitudePruning(),
        };
        foreach (var name in RegularizerLibrary.Names) factories[name] = () => RegularizerPruning.FromCatalogue(name);
        factories["lobster"] = () => new LobsterPruning();
        factories["hypersparse"] = () => new HyperSparsePruning();
        factories["gmp"] = () => new GradualMagnitudePruning();
        factories["nm"] = () => new SemiStructuredPruning();
        factories["structured"] = () => new StructuredPruning();
        factories["rigl"] = () => new DynamicSparsePruning();
        factories["set"] = () => new DynamicSparsePruning { Regrowth = Pruning.Schedules.Regrowth.Random };
        return factories;
    }
}
