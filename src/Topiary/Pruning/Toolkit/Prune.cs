using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// The functional pruning API, modelled on <c>torch.nn.utils.prune</c>: <see cref="Attach"/> puts masks
/// beside a model's selected parameters (as PyTorch's first <c>prune.*</c> call does), the criteria
/// functions change them, <see cref="Remove"/> makes the pruning permanent, <see cref="IsPruned"/> tells.
/// Masks travel with the model through <see cref="Serialization.ModelFile"/>; a training loop keeps the
/// pruned entries at exactly zero with <see cref="PruningMasks.ApplyToGradients"/>/<see cref="PruningMasks.ApplyToWeights"/>
/// and <see cref="Optimization.MaskableOptimizer.MaskState"/>.
/// </summary>
public static class Prune
{
    private static readonly ConditionalWeakTable<nn.Module, PruningMasks> Attached = new();

    /// <summary>
    /// The masks of <paramref name="model"/>, created all-ones over the parameters <paramref name="selector"/>
    /// picks (weights of conv/linear/embedding layers by default) if the model has none yet.
    /// </summary>
    /// <exception cref="PruningSelectionException">The selector matches nothing.</exception>
    public static PruningMasks Attach(nn.Module model, LayerSelector? selector = null)
    {
        if (Attached.TryGetValue(model, out var existing)) return existing;
        var masks = new PruningMasks((selector ?? new LayerSelector()).Select(model));
        Attached.Add(model, masks);
        return masks;
    }

    /// <summary>
    /// Re-attaches masks saved with the model (e.g. <see cref="Serialization.LoadedModel.Masks"/>) to exactly
    /// the parameters they name, and zeros the weights they prune.
    /// </summary>
    public static PruningMasks Restore(nn.Module model, IReadOnlyDictionary<string, Tensor> saved)
    {
        if (saved.Count == 0) throw new PruningSelectionException("the saved state holds no masks");
        Remove(model, bake: false);
        var parameters = model.named_parameters().Where(p => saved.ContainsKey(p.name)).Select(p => (p.name, p.parameter)).ToList();
        var missing = saved.Keys.Except(parameters.Select(p => p.name)).FirstOrDefault();
        if (missing is not null) throw new PruningSelectionException($"the model has no parameter '{missing}' for a saved mask");
        var masks = new PruningMasks(parameters);
        masks.RestoreMatching(saved);
        Attached.Add(model, masks);
        return masks;
    }

    /// <summary>The masks attached to <paramref name="model"/>, or null.</summary>
    public static PruningMasks? MasksOf(nn.Module model) => Attached.TryGetValue(model, out var masks) ? masks : null;

    /// <summary>
    /// Makes <paramref name="masks"/> the model's attached masks (a pruning session's, so that the toolkit's calls act on
    /// the masks training keeps); masks the toolkit had attached before are disposed.
    /// </summary>
    internal static void Register(nn.Module model, PruningMasks masks)
    {
        if (Attached.TryGetValue(model, out var previous) && !ReferenceEquals(previous, masks))
        {
            Attached.Remove(model);
            previous.Dispose();
        }
        Attached.AddOrUpdate(model, masks);
    }

    /// <summary>Detaches <paramref name="masks"/> from <paramref name="model"/> if they are still its attached masks, without disposing them.</summary>
    internal static void Unregister(nn.Module model, PruningMasks masks)
    {
        if (Attached.TryGetValue(model, out var current) && ReferenceEquals(current, masks)) Attached.Remove(model);
    }

    /// <summary>True when <paramref name="model"/> has masks attached (<c>prune.is_pruned</c>).</summary>
    public static bool IsPruned(nn.Module model) => Attached.TryGetValue(model, out _);

    /// <summary>
    /// Makes the pruning permanent (<c>prune.remove</c>): with <paramref name="bake"/> the masks are multiplied
    /// into the weights, then detached and disposed, leaving an ordinary model whose zeros are plain values.
    /// </summary>
    public static void Remove(nn.Module model, bool bake = true)
    {
        if (!Attached.TryGetValue(model, out var masks)) return;
        if (bake) masks.ApplyToWeights();
        Attached.Remove(model);
        masks.Dispose();
    }

    /// <summary>Unstructured pruning (magnitude by default), global or per layer; see <see cref="UnstructuredPruner"/>.</summary>
    public static long Unstructured(PruningMasks masks, PruningAmount amount, ImportanceCriterion? importance = null,
        RankingScope scope = RankingScope.Global, LayerLimits? limits = null) =>
        UnstructuredPruner.Prune(masks, amount, importance, scope, limits);

    /// <summary>Random unstructured pruning (<c>random_unstructured</c>), reproducible from <paramref name="seed"/>.</summary>
    public static long Random(PruningMasks masks, PruningAmount amount, long seed, RankingScope scope = RankingScope.PerLayer) =>
        UnstructuredPruner.Prune(masks, amount, Importance.Random(seed), scope);

    /// <summary>Ln-norm structured pruning of whole slices along <paramref name="dim"/>; see <see cref="StructuredPruner"/>.</summary>
    public static long LnStructured(PruningMasks masks, PruningAmount amount, double n = 2, int dim = 0) =>
        StructuredPruner.Prune(masks, amount, n, dim);

    /// <summary>N:M semi-structured pruning; see <see cref="SemiStructuredPruner"/>.</summary>
    public static void NOutOfM(PruningMasks masks, int n, int m, ImportanceCriterion? importance = null) =>
        SemiStructuredPruner.Prune(masks, n, m, importance);
}
