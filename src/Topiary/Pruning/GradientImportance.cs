using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>
/// The scores of a <see cref="PruningCriterion"/> for a set of masks, kept up to date from the gradients: a session
/// calls <see cref="Observe"/> once per step, after the data loss's backward pass and before the regularizer's
/// gradient is added, and <see cref="AfterPruning"/> after each pruning event. <see cref="Criterion"/> is what the
/// pruners rank by. Accumulated scores travel in checkpoints (<see cref="SaveState"/>).
/// </summary>
public sealed class GradientImportance : IDisposable
{
    private readonly PruningMasks masks;
    private readonly Dictionary<string, Tensor> scores = [];

    /// <summary>Tracks <paramref name="kind"/> over <paramref name="masks"/>.</summary>
    public GradientImportance(PruningCriterion kind, PruningMasks masks)
    {
        Kind = kind;
        this.masks = masks;
        Criterion = kind == PruningCriterion.Magnitude ? Importance.Magnitude : Score;
    }

    /// <summary>The criterion tracked.</summary>
    public PruningCriterion Kind { get; }

    /// <summary>The scores as the pruners read them (<see cref="UnstructuredPruner"/>).</summary>
    public ImportanceCriterion Criterion { get; }

    /// <summary>Whether the criterion reads gradients (all but <see cref="PruningCriterion.Magnitude"/>).</summary>
    public bool ReadsGradients => Kind != PruningCriterion.Magnitude;

    /// <summary>Reads this step's gradient of every masked parameter (one without a gradient contributes nothing).</summary>
    public void Observe()
    {
        if (!ReadsGradients) return;
        using var _ = no_grad();
        foreach (var e in masks.Entries)
        {
            if (e.Parameter.grad is not { } g) continue;
            using var scope = NewDisposeScope();
            var product = g.mul(e.Parameter);
            var contribution = Kind switch
            {
                PruningCriterion.Snip or PruningCriterion.Taylor => product.abs_(),
                _ => product.neg_(),
            };
            // SNIP keeps the last batch's scores, Taylor and movement their sum; either way into the tensor already kept.
            if (!scores.TryGetValue(e.Name, out var kept)) scores[e.Name] = contribution.clone().DetachFromDisposeScope();
            else if (Kind == PruningCriterion.Snip) kept.copy_(contribution);
            else kept.add_(contribution);
        }
    }

    /// <summary>After a pruning event: Taylor starts a new sum; SNIP and movement keep theirs.</summary>
    public void AfterPruning()
    {
        if (Kind != PruningCriterion.Taylor) return;
        foreach (var t in scores.Values) t.Dispose();
        scores.Clear();
    }

    /// <summary>The accumulated scores by parameter name, as copies (empty for magnitude).</summary>
    public Dictionary<string, Tensor> SaveState()
    {
        using var _ = no_grad();
        return scores.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
    }

    /// <summary>Replaces the scores with copies of <paramref name="state"/> (what <see cref="SaveState"/> gave).</summary>
    /// <exception cref="ArgumentException">A score names no masked parameter or has another shape.</exception>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        foreach (var (name, t) in state)
        {
            var entry = masks.Entries.FirstOrDefault(e => e.Name == name)
                ?? throw new ArgumentException($"importance score for '{name}', which is not a masked parameter");
            if (!t.shape.SequenceEqual(entry.Parameter.shape))
                throw new ArgumentException($"importance score for '{name}' has shape [{string.Join(",", t.shape)}], expected [{string.Join(",", entry.Parameter.shape)}]");
        }
        foreach (var t in scores.Values) t.Dispose();
        scores.Clear();
        foreach (var (name, t) in state) scores[name] = t.detach().clone().DetachFromDisposeScope();
    }

    // Before any gradient was seen the scores are 0 everywhere, so the pruners' ties fall back to their fixed order.
    private Tensor Score(MaskedParameter entry) =>
        scores.TryGetValue(entry.Name, out var s) ? s.detach() : zeros_like(entry.Parameter);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in scores.Values) t.Dispose();
        scores.Clear();
    }
}
