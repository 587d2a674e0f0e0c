using static TorchSharp.torch;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Importance criteria: a score per entry of a masked parameter; the lowest-scored unpruned entries are
/// removed first (PyTorch's <c>importance_scores</c>, Torch-Pruning's importance objects).
/// </summary>
public delegate Tensor ImportanceCriterion(MaskedParameter entry);

/// <summary>The built-in criteria.</summary>
public static class Importance
{
    /// <summary>|w| (L1 unstructured magnitude, Han et al. 2015; <c>l1_unstructured</c>).</summary>
    public static ImportanceCriterion Magnitude { get; } = e => e.Parameter.detach().abs();

    /// <summary>
    /// |g·w| with g the parameter's current gradient: SNIP's connection sensitivity (Lee et al., ICLR 2019) after the
    /// caller's backward pass on a batch. For scores accumulated over training (Taylor, movement) use
    /// <see cref="GradientImportance"/>.
    /// </summary>
    /// <exception cref="PruningSelectionException">A selected parameter has no gradient.</exception>
    public static ImportanceCriterion GradientTimesWeight { get; } = e =>
        e.Parameter.grad is { } g ? g.detach().mul(e.Parameter.detach()).abs_()
            : throw new PruningSelectionException($"parameter '{e.Name}' has no gradient: run the backward pass on a batch before ranking by |g·w|");

    /// <summary>Uniform random scores (<c>random_unstructured</c>), reproducible from <paramref name="seed"/>.</summary>
    public static ImportanceCriterion Random(long seed)
    {
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        return e => rand(e.Parameter.shape, generator: generator).to(e.Parameter.device);
    }

    /// <summary>
    /// User-supplied scores by parameter name (e.g. |w·g| or a sensitivity); each must have its
    /// parameter's shape.
    /// </summary>
    /// <exception cref="PruningSelectionException">A selected parameter has no score, or the shape differs.</exception>
    public static ImportanceCriterion FromScores(IReadOnlyDictionary<string, Tensor> scores) => e =>
    {
        if (!scores.TryGetValue(e.Name, out var s)) throw new PruningSelectionException($"no importance score for parameter '{e.Name}'");
        if (!s.shape.SequenceEqual(e.Parameter.shape))
            throw new PruningSelectionException($"importance score for '{e.Name}' has shape [{string.Join(",", s.shape)}], expected [{string.Join(",", e.Parameter.shape)}]");
        return s.detach();
    };
}
