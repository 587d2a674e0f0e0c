using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>A parameter under pruning and its 0/1 mask of the same shape.</summary>
public sealed record MaskedParameter(string Name, Parameter Parameter, Tensor Mask);

/// <summary>
/// Binary masks kept beside the parameters they prune, in the spirit of
/// <c>torch.nn.utils.prune</c>: a pruned entry has mask 0 and is held at exactly zero by
/// <see cref="ApplyToWeights"/> after every optimizer step and by <see cref="ApplyToGradients"/> before it.
/// </summary>
public sealed class PruningMasks : IDisposable
{
    private readonly List<MaskedParameter> entries;
    private readonly Dictionary<IntPtr, Tensor> byHandle;

    /// <summary>Starts with all-ones masks (nothing pruned) over the given parameters.</summary>
    public PruningMasks(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        entries = parameters.Select(p => new MaskedParameter(p.Name, p.Parameter, ones_like(p.Parameter).detach().DetachFromDisposeScope())).ToList();
        if (entries.Count == 0) throw new ArgumentException("no parameter to prune", nameof(parameters));
        byHandle = entries.ToDictionary(e => e.Parameter.Handle, e => e.Mask);
    }

    /// <summary>The live 0/1 mask of <paramref name="parameter"/>, or null when it is not under pruning.</summary>
    public Tensor? MaskOf(Tensor parameter) => byHandle.GetValueOrDefault(parameter.Handle);

    /// <summary>The masked parameters in selection order.</summary>
    public IReadOnlyList<MaskedParameter> Entries => entries;

    /// <summary>Number of entries under masks.</summary>
    public long Total => entries.Sum(e => e.Mask.numel());

    /// <summary>Number of entries whose mask is 1.</summary>
    public long Remaining
    {
        get
        {
            using var scope = NewDisposeScope();
            return entries.Sum(e => e.Mask.count_nonzero().item<long>());
        }
    }

    /// <summary>Remaining / Total.</summary>
    public double Density => (double)Remaining / Total;

    /// <summary>Zeros pruned weights in place; call after each optimizer step.</summary>
    public void ApplyToWeights()
    {
        using var _ = no_grad();
        foreach (var e in entries) e.Parameter.mul_(e.Mask);
    }

    /// <summary>Zeros the gradients of pruned weights in place; call before each optimizer step.</summary>
    public void ApplyToGradients()
    {
        using var _ = no_grad();
        foreach (var e in entries) e.Parameter.grad?.mul_(e.Mask);
    }

    /// <summary>Copies mask values from another set with the same names and shapes.</summary>
    public void CopyFrom(IReadOnlyDictionary<string, Tensor> masks)
    {
        using var _ = no_grad();
        foreach (var e in entries)
        {
            if (!masks.TryGetValue(e.Name, out var source))
                throw new ArgumentException($"no mask for parameter '{e.Name}'", nameof(masks));
            if (!source.shape.SequenceEqual(e.Mask.shape))
                throw new ArgumentException($"mask for '{e.Name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", e.Mask.shape)}]", nameof(masks));
            e.Mask.copy_(source);
        }
    }

    /// <summary>
    /// Copies the masks that <paramref name="masks"/> holds for parameters under these masks (e.g. from a
    /// model file) and zeros the weights they prune; parameters it does not name stay unpruned.
    /// Returns how many masks were copied.
    /// </summary>
    public int RestoreMatching(IReadOnlyDictionary<string, Tensor> masks)
    {
        var matching = entries.Where(e => masks.ContainsKey(e.Name)).ToDictionary(e => e.Name, e => masks[e.Name]);
        using (no_grad())
        {
            foreach (var e in entries.Where(e => matching.ContainsKey(e.Name)))
            {
                var source = matching[e.Name];
                if (!source.shape.SequenceEqual(e.Mask.shape))
                    throw new ArgumentException($"mask for '{e.Name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", e.Mask.shape)}]", nameof(masks));
                e.Mask.copy_(source);
            }
        }
        ApplyToWeights();
        return matching.Count;
    }

    /// <summary>Snapshot of the masks by parameter name (detached copies).</summary>
    public Dictionary<string, Tensor> Snapshot() => entries.ToDictionary(e => e.Name, e => e.Mask.clone().DetachFromDisposeScope());

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var e in entries) e.Mask.Dispose();
    }
}
