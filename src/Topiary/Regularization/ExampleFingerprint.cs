using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// A 64-bit fingerprint of each example of a batch, from the bits of its input, so that state kept per training example
/// (the dual variables of <see cref="ManifoldLipschitzRegularizer"/>) finds it again in a later, reshuffled batch: the
/// training loop passes the batch, not the examples' indices. Equal inputs share a fingerprint; an augmented view is a new one.
/// </summary>
internal static class ExampleFingerprint
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>One fingerprint per row of <paramref name="inputs"/> (its values as 32-bit floats).</summary>
    public static ulong[] Of(Tensor inputs)
    {
        using var scope = NewDisposeScope();
        var rows = (int)inputs.shape[0];
        var values = inputs.detach().flatten(1).to(float32).cpu().contiguous().data<float>().ToArray();
        var words = MemoryMarshal.Cast<float, uint>(values);
        var width = rows == 0 ? 0 : words.Length / rows;
        var result = new ulong[rows];
        for (var r = 0; r < rows; r++)
        {
            var hash = Offset;
            foreach (var word in words.Slice(r * width, width))
                hash = (hash ^ word) * Prime;
            result[r] = Finish(hash);
        }
        return result;
    }

    // splitmix64's finalizer: FNV on whole words leaves the high bits poorly mixed.
    private static ulong Finish(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
