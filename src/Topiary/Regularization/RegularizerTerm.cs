namespace Topiary.Regularization;

/// <summary>One regularizer of a <see cref="CompositeRegularizer"/> with its strength.</summary>
/// <param name="Regularizer">The regularizer.</param>
/// <param name="Strength">Its weight λ in L + Σ λ_i·R_i (for clipping, SAM and AMP: the threshold or radius).</param>
/// <param name="FollowsSchedule">
/// When true the strength is multiplied by the strength the step is run with (e.g. the flagship's decaying γ);
/// when false it stays constant.
/// </param>
public sealed record RegularizerTerm(GradientRegularizer Regularizer, double Strength, bool FollowsSchedule = false)
{
    /// <summary>The strength to pass to the regularizer when the step runs with <paramref name="scheduled"/>.</summary>
    public double Effective(double scheduled) => FollowsSchedule ? Strength * scheduled : Strength;
}
