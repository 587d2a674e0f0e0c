namespace Topiary.Pruning.Schedules;

/// <summary>
/// A schedule that prunes once, at the first evaluation, and then only fine-tunes under the fixed mask (one-shot, N:M,
/// neuron and filter pruning): it never prunes after a step, and its one piece of state, whether it has pruned, goes
/// into checkpoints so that a resumed run does not prune again.
/// </summary>
public abstract class FirstEvaluationPolicy : PruningPolicy
{
    private bool done;

    /// <summary>Prunes the masks once; true when any entry was removed.</summary>
    protected abstract bool PruneOnce(PruningContext context);

    /// <inheritdoc />
    public sealed override bool MayPruneAfterStep(PruningContext context) => false;

    /// <inheritdoc />
    public sealed override bool AtEvaluation(PruningContext context, EvaluationResult validation)
    {
        if (done) return false;
        done = true;
        return PruneOnce(context);
    }

    /// <inheritdoc />
    public sealed override System.Text.Json.Nodes.JsonObject SaveState() => new() { ["done"] = done };

    /// <inheritdoc />
    public sealed override void LoadState(System.Text.Json.Nodes.JsonObject state) => done = state["done"]?.GetValue<bool>() ?? false;
}
