namespace Topiary.Training;

/// <summary>What <see cref="PruningSession.Evaluate(Pruning.EvaluationResult)"/> did with one validation result.</summary>
/// <param name="Step">The session's step count at the evaluation.</param>
/// <param name="RemainingBefore">Fraction of the prunable parameters left when the model was evaluated.</param>
/// <param name="Remaining">Fraction left after the evaluation (lower when it pruned).</param>
/// <param name="Strength">The regularizer's strength γ during the steps before the evaluation.</param>
/// <param name="Pruned">Whether the schedule pruned.</param>
/// <param name="Selected">Whether the evaluated model became the selection (the smallest at the bound so far).</param>
/// <param name="ShouldStop">Whether patience has run out: no new smallest model at the bound for that many evaluations.</param>
public sealed record EvaluationOutcome(long Step, double RemainingBefore, double Remaining, double Strength, bool Pruned, bool Selected, bool ShouldStop);
