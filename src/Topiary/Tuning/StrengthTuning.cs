namespace Topiary.Tuning;

/// <summary>
/// A method's strength tuned on held-out data while it prunes (<see cref="Methods.PruningMethod.Tuning"/>): which
/// <see cref="StrengthTuner"/>, how often, and on how much data. Given as a factory because a tuner keeps state and
/// every session needs a fresh one.
/// </summary>
/// <param name="Name">Its name in reports (for example <c>hoag</c>).</param>
/// <param name="Create">Builds a fresh tuner.</param>
public sealed record StrengthTuning(string Name, Func<StrengthTuner> Create)
{
    /// <summary>Tune at every k-th evaluation (default 1: at each).</summary>
    public int EveryEvaluations { get; init; } = 1;

    /// <summary>Training batches for the lower problem's Hessian and gradients at each update (default 4).</summary>
    public int TrainingBatches { get; init; } = 4;

    /// <summary>Validation batches for the upper objective's gradient at each update (default 10).</summary>
    public int ValidationBatches { get; init; } = 10;

    /// <summary>The reasons the settings are out of range, each naming its property; empty when they are fine.</summary>
    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(Name)) yield return $"{nameof(Name)}: must not be empty";
        if (EveryEvaluations < 1) yield return $"{nameof(EveryEvaluations)}: must be at least 1, got {EveryEvaluations}";
        if (TrainingBatches < 1) yield return $"{nameof(TrainingBatches)}: must be at least 1, got {TrainingBatches}";
        if (ValidationBatches < 1) yield return $"{nameof(ValidationBatches)}: must be at least 1, got {ValidationBatches}";
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} (every {EveryEvaluations} evaluation(s), {TrainingBatches} training and {ValidationBatches} validation batches)";
}
