namespace Topiary.Training;

/// <summary>A snapshot of a running training or pruning phase, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Phase"><c>dense</c> or <c>prune</c>.</param>
/// <param name="Epoch">Current epoch, from 1.</param>
/// <param name="Epochs">Epoch budget of the phase.</param>
/// <param name="Step">Optimizer steps done in the phase.</param>
/// <param name="TotalSteps">Step budget of the phase.</param>
/// <param name="Loss">Mean training loss over the recent steps.</param>
/// <param name="Validation">Last validation accuracy, if any.</param>
/// <param name="RemainingFraction">Fraction of prunable parameters still present.</param>
/// <param name="Gamma">Current regularization strength.</param>
public sealed record TrainingProgress(string Phase, int Epoch, int Epochs, long Step, long TotalSteps,
    double Loss, double? Validation, double RemainingFraction, double Gamma);
