using Topiary.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// Random translation, the "random crop with padding" of the standard image-classification training since
/// Krizhevsky, Sutskever and Hinton (NeurIPS 2012): each image of a batch (N, C, H, W) moves by its own (dy, dx), each
/// uniform in [−K, K] with K = <see cref="MaxPixels"/>, so out[n, c, i, j] = in[n, c, i − dy, j − dx] where that pixel
/// exists and <see cref="Fill"/> where it does not. This equals padding by K with the fill and cropping an H×W window
/// at offset (K − dy, K − dx).
/// </summary>
/// <remarks>The fill is the value of a zero pixel after standardization (0 for standardized images), as for <see cref="Cutout"/>.</remarks>
public sealed class RandomShift : IBatchAugmentation
{
    /// <param name="maxPixels">K, the largest shift along each axis in pixels, at least 1.</param>
    /// <param name="fill">The value of the pixels shifted in from outside the image.</param>
    /// <exception cref="ArgumentOutOfRangeException">The largest shift is below 1.</exception>
    public RandomShift(int maxPixels, float fill = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        MaxPixels = maxPixels;
        Fill = fill;
    }

    /// <summary>K: the largest shift along each axis, in pixels.</summary>
    public int MaxPixels { get; }

    /// <summary>The value of the pixels shifted in from outside the image.</summary>
    public float Fill { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The inputs are not a batch of images (N, C, H, W).</exception>
    public Tensor Apply(Tensor inputs, ulong seed)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"shift needs images (N, C, H, W), got shape [{string.Join(", ", inputs.shape)}]", nameof(inputs));
        using var scope = NewDisposeScope();
        var (count, height, width) = (inputs.shape[0], inputs.shape[2], inputs.shape[3]);
        var (dy, dx) = Shifts(count, seed);
        var k = MaxPixels;
        var padded = nn.functional.pad(inputs, [k, k, k, k], PaddingModes.Constant, Fill).permute(0, 2, 3, 1);
        // Rows k − dy + i and columns k − dx + j of the padded images: (N, H, 1) and (N, 1, W) against (N, 1, 1).
        var rows = arange(HeldScalar.Of(height), dtype: ScalarType.Int64).unsqueeze(0).add(dy.neg().add(HeldScalar.Of(k)).unsqueeze(1)).unsqueeze(2);
        var columns = arange(HeldScalar.Of(width), dtype: ScalarType.Int64).unsqueeze(0).add(dx.neg().add(HeldScalar.Of(k)).unsqueeze(1)).unsqueeze(1);
        var images = arange(HeldScalar.Of(count), dtype: ScalarType.Int64).view(count, 1, 1);
        var shifted = padded.index([TensorIndex.Tensor(images.to(inputs.device)), TensorIndex.Tensor(rows.to(inputs.device)), TensorIndex.Tensor(columns.to(inputs.device))]);
        return shifted.permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Every image's (dy, dx), each (N) and uniform in [−K, K], drawn from <paramref name="seed"/> only.</summary>
    public (Tensor Rows, Tensor Columns) Shifts(long count, ulong seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed);
        var dy = randint(-MaxPixels, MaxPixels + 1, [count], dtype: ScalarType.Int64, generator: generator);
        var dx = randint(-MaxPixels, MaxPixels + 1, [count], dtype: ScalarType.Int64, generator: generator);
        return (dy.MoveToOuterDisposeScope(), dx.MoveToOuterDisposeScope());
    }
}
