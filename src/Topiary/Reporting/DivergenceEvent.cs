namespace Topiary.Reporting;

/// <summary>
/// One recovery from a non-finite loss or gradient: the run went back to its last good checkpoint and
/// continued with half the learning rate.
/// </summary>
/// <param name="Step">The step (counted from the start of pruning) whose loss or gradient was not finite.</param>
/// <param name="Cause">What was not finite, e.g. "loss is NaN".</param>
/// <param name="RolledBackToStep">Step of the checkpoint the run went back to.</param>
/// <param name="LearningRate">The learning rate after halving.</param>
public sealed record DivergenceEvent(long Step, string Cause, long RolledBackToStep, double LearningRate);
