using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>
/// A copy of the masked parameters and their masks, to try a pruning (e.g. a LOBSTER threshold or an ART
/// pruned copy) and undo it exactly.
/// </summary>
public sealed class MaskedWeightsBackup : IDisposable
{
    private readonly PruningMasks masks;
    private readonly List<(Tensor Weight, Tensor Mask)> copies;

    /// <summary>Copies the current weights and masks of <paramref name="masks"/>.</summary>
    public MaskedWeightsBackup(PruningMasks masks)
    {
        this.masks = masks;
        using var _ = no_grad();
        copies = masks.Entries.Select(e => (e.Parameter.detach().clone().DetachFromDisposeScope(), e.Mask.clone().DetachFromDisposeScope())).ToList();
    }

    /// <summary>Puts the copied weights and masks back.</summary>
    public void Restore()
    {
        using var _ = no_grad();
        for (var i = 0; i < copies.Count; i++)
        {
            masks.Entries[i].Parameter.copy_(copies[i].Weight);
            masks.Entries[i].Mask.copy_(copies[i].Mask);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (w, m) in copies)
        {
            w.Dispose();
            m.Dispose();
        }
    }
}
