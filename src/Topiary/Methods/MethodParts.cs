using Topiary.Pruning;
using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>What a <see cref="PruningMethod"/> builds for one session.</summary>
/// <param name="Regularizer">The regularizer, whose strength the session's γ schedule sets each step.</param>
/// <param name="Policy">When and what to prune.</param>
public sealed record MethodParts(GradientRegularizer Regularizer, PruningPolicy Policy)
{
    /// <summary>The part of <see cref="Regularizer"/> whose strength follows the schedule (the method's own); null means all of it.</summary>
    public GradientRegularizer? Scheduled { get; init; }
}
