namespace Topiary.Tuning;

/// <summary>What one <see cref="StrengthTuner.Update"/> did, for reports.</summary>
/// <param name="Multiplier">m after the update.</param>
/// <param name="Hypergradient">dF/dθ, the estimated derivative of the validation loss in θ = log m, before the step.</param>
/// <param name="ValidationLoss">F at the weights the update started from.</param>
/// <param name="Tolerance">The accuracy the update asked of its inner solves (CG residual, lower-level gradient norm); NaN if none.</param>
/// <param name="Accepted">Whether the step on θ was taken (a backtracking tuner may reject it).</param>
/// <param name="HessianProducts">Hessian-vector products used (0 for tuners that do not use them).</param>
public sealed record TuningUpdate(double Multiplier, double Hypergradient, double ValidationLoss, double Tolerance,
    bool Accepted, int HessianProducts);
