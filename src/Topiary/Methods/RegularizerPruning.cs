using Topiary.Pruning;
using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>
/// Any regularizer of the catalogue (<see cref="RegularizerCatalog"/>: spectral, SCAD, group lasso, …) as a method's
/// own, with γ's schedule and the iterative crop of <see cref="IterativeCropPruning"/>.
/// </summary>
/// <param name="RegularizerName">Its name in reports (the catalogue name).</param>
/// <param name="Create">Builds a fresh instance.</param>
public sealed record RegularizerPruning(string RegularizerName, Func<GradientRegularizer> Create) : IterativeCropPruning
{
    /// <summary>The catalogue regularizer called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The catalogue has no such regularizer.</exception>
    public static RegularizerPruning FromCatalogue(string name)
    {
        if (!RegularizerCatalog.Names.Contains(name))
            throw new ArgumentException($"the regularizer catalogue has no '{name}' (expected one of: {string.Join(", ", RegularizerCatalog.Names)})", nameof(name));
        return new RegularizerPruning(name, () => RegularizerCatalog.Create(name));
    }

    /// <inheritdoc />
    public override string Name => RegularizerName;

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => Create();

    /// <inheritdoc />
    protected override bool OwnReplacesBackward => Create().ReplacesBackward;
}
