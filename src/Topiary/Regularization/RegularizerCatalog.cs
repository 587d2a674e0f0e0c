namespace Topiary.Regularization;

/// <summary>Regularizers by their command-line name.</summary>
public static class RegularizerCatalog
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "relevance", "l2", "l1", "none" }.Concat(RegularizerLibrary.Names).ToArray();

    /// <summary>Builds the regularizer called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static GradientRegularizer Create(string name, double alpha = 1.0) => name switch
    {
        "relevance" => new RelevanceWeightDecay(alpha),
        "l2" => new L2WeightDecay(),
        "l1" => new L1ProximalDecay(),
        "none" => new NoRegularization(),
        _ when RegularizerLibrary.Find(name) is { } entry => entry.CreateDefault(),
        _ => throw new ArgumentException($"unknown method '{name}' (expected one of: {string.Join(", ", Names)})", nameof(name)),
    };
}
