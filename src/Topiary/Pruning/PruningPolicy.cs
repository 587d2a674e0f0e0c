using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Topiary.Pruning;

/// <summary>
/// When and what to prune during training. The training loop calls <see cref="AtEvaluation"/> after
/// each validation and <see cref="AfterStep"/> after each optimizer step; a policy changes
/// <see cref="PruningContext.Masks"/> and returns true when it pruned, and the loop then clears the
/// optimizer state of the removed entries and restarts the regularization schedule.
/// (Importance, pruner and schedule are kept apart, as in Torch-Pruning.)
/// </summary>
public abstract class PruningPolicy
{
    /// <summary>Name in reports.</summary>
    public abstract string Name { get; }

    /// <summary>Called after each validation; returns true when masks changed.</summary>
    public virtual bool AtEvaluation(PruningContext context, EvaluationResult validation) => false;

    /// <summary>Called after each optimizer step; returns true when masks changed.</summary>
    public virtual bool AfterStep(PruningContext context) => false;

    /// <summary>
    /// Whether <see cref="AfterStep"/> may prune at the context's current step. Only then does the loop copy
    /// the weights beforehand, to measure the test metric of the model as it was before the pruning
    /// (reporting only). True, the default, is always correct; false spares that copy at every step. A
    /// policy that says false and prunes anyway makes the loop throw, since its test trajectory would be wrong.
    /// </summary>
    public virtual bool MayPruneAfterStep(PruningContext context) => true;

    /// <summary>
    /// Whether the policy reads the dense gradient of the last step (<see cref="PruningContext.DenseGradient"/>, before
    /// pruned entries are zeroed), as RigL's regrowth does; the session then keeps a copy each step.
    /// </summary>
    public virtual bool ReadsDenseGradients => false;

    /// <summary>
    /// Whether the policy will read the dense gradients after optimizer step <paramref name="step"/> (counted from 1),
    /// so that the session copies them only then; <see cref="ReadsDenseGradients"/> at every step by default.
    /// </summary>
    public virtual bool ReadsDenseGradientsAt(long step) => ReadsDenseGradients;

    /// <summary>The policy's own counters, for checkpoints.</summary>
    public virtual JsonObject SaveState() => new();

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    public virtual void LoadState(JsonObject state) { }
}

/// <summary>What a <see cref="PruningPolicy"/> may look at and change.</summary>
/// <param name="Masks">The masks to prune.</param>
/// <param name="Floor">The metric bound of the run.</param>
/// <param name="Validate">Re-evaluates the current model on the validation split (e.g. to try a threshold).</param>
/// <param name="StepsPerEpoch">Optimizer steps in one epoch.</param>
/// <param name="TotalSteps">Step budget of the run.</param>
/// <param name="Logger">Where to log pruning events.</param>
public sealed record PruningContext(PruningMasks Masks, MetricFloor Floor, Func<EvaluationResult> Validate,
    int StepsPerEpoch, long TotalSteps, ILogger Logger)
{
    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; set; }

    /// <summary>What the schedule ranks entries by when it prunes (the method's <see cref="PruningCriterion"/>; default |w|).</summary>
    public Toolkit.ImportanceCriterion Importance { get; init; } = Toolkit.Importance.Magnitude;

    /// <summary>
    /// The last step's gradient of an entry before pruned entries were zeroed, or null when the session kept none
    /// (only for a policy that <see cref="PruningPolicy.ReadsDenseGradients"/>).
    /// </summary>
    public Func<MaskedParameter, TorchSharp.torch.Tensor?> DenseGradient { get; init; } = _ => null;
}
