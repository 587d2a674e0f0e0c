namespace Topiary.Tuning;

/// <summary>
/// How <see cref="ImplicitHypergradient"/> builds and solves its linear systems H·q = b, H = ∇²_w g(w, λ), the Hessian
/// of the lower objective g = L_train + λ·R.
/// </summary>
public sealed record ImplicitHypergradientSettings
{
    /// <summary>The default <see cref="MaxIterations"/>.</summary>
    public const int DefaultMaxIterations = 100;

    /// <summary>Cap on the conjugate-gradient iterations (Hessian-vector products) of one solve, ≥ 1 (default 100).</summary>
    public int MaxIterations { get; init; } = DefaultMaxIterations;

    /// <summary>
    /// How many training batches (the first ones) the training gradient and every Hessian-vector product average over;
    /// null (the default) uses all of <see cref="TuningProblem.TrainingBatches"/>. Each product costs one double backward
    /// pass per batch.
    /// </summary>
    public int? HessianBatches { get; init; }

    /// <summary>
    /// δ ≥ 0 added to the Hessian, H + δ·I (Levenberg–Marquardt damping), which makes H positive definite when the
    /// training loss's curvature is above −δ; 0 (the default) solves with H itself and relies on conjugate gradients
    /// stopping at a direction of non-positive curvature.
    /// </summary>
    public double Damping { get; init; }

    /// <summary>The settings that are out of range, by property name, with the reason; empty when all are valid.</summary>
    public IEnumerable<(string Property, string Reason)> Problems()
    {
        if (MaxIterations < 1) yield return (nameof(MaxIterations), $"must be at least 1, got {MaxIterations}");
        if (HessianBatches is { } n && n < 1) yield return (nameof(HessianBatches), $"must be at least 1 when set, got {n}");
        if (!(Damping >= 0 && double.IsFinite(Damping))) yield return (nameof(Damping), $"must be a finite number ≥ 0, got {Damping}");
    }
}
