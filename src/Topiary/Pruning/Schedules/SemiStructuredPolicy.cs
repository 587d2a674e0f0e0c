using Microsoft.Extensions.Logging;
using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// N:M semi-structured pruning as NVIDIA's ASP recipe runs it (Mishra et al. 2021): at the first evaluation every weight
/// matrix whose rows are a multiple of M long keeps the N most important of each M consecutive entries of a row
/// (<see cref="SemiStructuredPruner"/>), then the network fine-tunes under the fixed mask. Masks never grow and pruned
/// weights are re-zeroed after every step, so the pattern holds exactly through the fine-tuning. Biases, and weights
/// whose rows do not fit the pattern, stay dense (logged).
/// </summary>
public sealed class SemiStructuredPolicy : FirstEvaluationPolicy
{
    /// <summary>Creates the policy for N of every M.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 1 ≤ N &lt; M.</exception>
    public SemiStructuredPolicy(int n, int m)
    {
        if (!(n >= 1 && n < m)) throw new ArgumentOutOfRangeException(nameof(n), n, $"N:M pruning needs 1 ≤ N < M, got {n}:{m}");
        (N, M) = (n, m);
    }

    /// <summary>Entries kept per block.</summary>
    public int N { get; }

    /// <summary>Block length.</summary>
    public int M { get; }

    /// <inheritdoc />
    public override string Name => "n:m";

    /// <inheritdoc />
    /// <exception cref="PruningSelectionException">No pruned tensor has rows that are a multiple of M long.</exception>
    protected override bool PruneOnce(PruningContext context)
    {
        var pruned = SemiStructuredPruner.PruneEligible(context.Masks, N, M, context.Importance);
        if (pruned.Count == 0)
            throw new PruningSelectionException($"{N}:{M} pruning found no weight whose rows are a multiple of {M} long (rows: {string.Join(", ", context.Masks.Entries.Where(e => e.Mask.dim() >= 2).Select(e => $"{e.Name} {e.Mask[0].numel()}"))})");
        var dense = context.Masks.Entries.Except(pruned).Select(e => e.Name).ToList();
        context.Logger.LogInformation("step {Step}: {N}:{M} pruning of {Count} weight tensors; left dense: {Dense}", context.Step, N, M, pruned.Count,
            dense.Count == 0 ? "none" : string.Join(", ", dense));
        return true;
    }
}
