using Topiary.Pruning;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// What a <see cref="StrengthTuner"/> sees of the bilevel problem at one update: the lower objective
/// g(w, λ) = L_train(w) + λ·R(w) with λ = m·<see cref="ScheduledStrength"/>, and the upper objective F = L_val(w).
/// </summary>
public sealed class TuningProblem
{
    /// <summary>Every trainable parameter (w).</summary>
    public required IReadOnlyList<Parameter> Parameters { get; init; }

    /// <summary>The parameters the regularizer acts on (a subset of <see cref="Parameters"/>).</summary>
    public required IReadOnlyList<Parameter> Regularized { get; init; }

    /// <summary>The method's regularizer R, unwrapped; its <see cref="GradientRegularizer.AddGradient"/> at strength 1 gives ∂R/∂w.</summary>
    public required GradientRegularizer Regularizer { get; init; }

    /// <summary>λ_t, the strength the schedule gives now; the step runs with m·λ_t.</summary>
    public required double ScheduledStrength { get; init; }

    /// <summary>The pruning masks, or null: pruned entries are not variables of either problem.</summary>
    public PruningMasks? Masks { get; init; }

    /// <summary>Number of training batches <see cref="TrainingLoss"/> accepts (at least 1).</summary>
    public required int TrainingBatches { get; init; }

    /// <summary>The data loss (mean over the batch, differentiable in the parameters) of training batch i.</summary>
    public required Func<int, Tensor> TrainingLoss { get; init; }

    /// <summary>Number of validation batches <see cref="ValidationLoss"/> accepts (at least 1).</summary>
    public required int ValidationBatches { get; init; }

    /// <summary>The data loss (mean over the batch, differentiable in the parameters) of validation batch i.</summary>
    public required Func<int, Tensor> ValidationLoss { get; init; }

    /// <summary>
    /// Optional: solves the lower problem again at multiplier m until ‖∇_w g‖ ≤ tolerance or its budget ends, leaving
    /// the solution in the parameters, and returns whether it reached the tolerance. Given in offline use (tests, small
    /// convex problems); null inside a training loop, where the training between updates is the lower solve.
    /// </summary>
    public Func<double, double, bool>? SolveLower { get; init; }
}
