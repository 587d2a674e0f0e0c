namespace Topiary.Reporting;

/// <summary>The measurement of one size of a size-for-size protocol (<c>Topiary.Training.SizeProtocol</c>).</summary>
/// <param name="Target">The target remaining fraction.</param>
/// <param name="Step">The pruning step whose event crossed it.</param>
/// <param name="RemainingBefore">Remaining fraction of the snapshot the crop started from.</param>
/// <param name="Remaining">Remaining fraction after the crop (the target, up to one parameter).</param>
/// <param name="ValidationMetric">Validation metric after the fine-tuning.</param>
/// <param name="ValidationLoss">Validation loss after the fine-tuning (mean cross-entropy), finer than an accuracy.</param>
/// <param name="TestMetric">Test metric after the fine-tuning (reporting only: nothing in the run reads it).</param>
/// <param name="FineTuneSteps">The fine-tuning steps it got.</param>
public sealed record SizeResult(double Target, long Step, double RemainingBefore, double Remaining, double ValidationMetric, double ValidationLoss, double TestMetric, int FineTuneSteps);
