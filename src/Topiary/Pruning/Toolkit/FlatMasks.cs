using static TorchSharp.torch;

namespace Topiary.Pruning.Toolkit;

/// <summary>Copies a concatenated, flattened mask back into the tensors it was built from.</summary>
internal static class FlatMasks
{
    public static void Scatter(IReadOnlyList<MaskedParameter> entries, Tensor flatMask)
    {
        long offset = 0;
        foreach (var entry in entries)
        {
            var n = entry.Mask.numel();
            entry.Mask.copy_(flatMask.narrow(0, offset, n).view_as(entry.Mask));
            offset += n;
        }
    }
}
