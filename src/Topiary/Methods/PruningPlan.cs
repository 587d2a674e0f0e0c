namespace Topiary.Methods;

/// <summary>What a pruning method's schedule needs to know about the training it joins.</summary>
/// <param name="StepsPerEpoch">Optimizer steps in one epoch: the length of γ's decay and of an ART check.</param>
/// <param name="TotalSteps">The step budget of the pruning phase, if known (gradual magnitude pruning spreads its steps over two thirds of it, and needs it).</param>
/// <param name="EvaluationInterval">Steps between evaluations (gradual magnitude pruning prunes at this frequency).</param>
/// <param name="HigherIsBetter">The direction of the validation metric.</param>
public sealed record PruningPlan(int StepsPerEpoch, long? TotalSteps, int EvaluationInterval, bool HigherIsBetter)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the property that is out of range.</summary>
    public void Validate()
    {
        if (StepsPerEpoch < 1) throw new ArgumentException($"{nameof(PruningPlan)}.{nameof(StepsPerEpoch)} must be at least 1, got {StepsPerEpoch}");
        if (TotalSteps is < 0) throw new ArgumentException($"{nameof(PruningPlan)}.{nameof(TotalSteps)} must be ≥ 0, got {TotalSteps}");
        if (EvaluationInterval < 1) throw new ArgumentException($"{nameof(PruningPlan)}.{nameof(EvaluationInterval)} must be at least 1, got {EvaluationInterval}");
    }
}
