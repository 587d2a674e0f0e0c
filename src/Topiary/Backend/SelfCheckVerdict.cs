namespace Topiary.Backend;

/// <summary>What a self-check established on one machine, as the verdict cache keeps it.</summary>
/// <param name="Outcome"><see cref="SelfCheckOutcome.Passed"/> (oneDNN is fine) or <see cref="SelfCheckOutcome.OneDnnDisabled"/> (it must be off).</param>
/// <param name="MaxRelativeError">Worst relative error of the check that passed.</param>
/// <param name="OneDnnError">Worst relative error with oneDNN on, when it failed (∞ for NaN or a forced failure).</param>
/// <param name="FailedCase">The convolution with that error, when oneDNN failed.</param>
/// <param name="ForcedBy">The setting that forced the failure (<c>TOPIARY_ONEDNN=off</c>), when it was forced.</param>
public sealed record SelfCheckVerdict(
    SelfCheckOutcome Outcome, double MaxRelativeError, double? OneDnnError = null, string? FailedCase = null, string? ForcedBy = null);
