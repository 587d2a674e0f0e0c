using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// Cutout (DeVries and Taylor, arXiv 2017, "Improved Regularization of Convolutional Neural Networks with Cutout",
/// seed #69): with probability <see cref="Probability"/>, each image of a batch (N, C, H, W) gets one square of side
/// <see cref="Size"/> set to <see cref="Fill"/> in every channel. The square's centre (cy, cx) is uniform over all
/// pixels, so near a border the square is clipped to rows [cy − ⌊S/2⌋, cy − ⌊S/2⌋ + S) ∩ [0, H) and the same for
/// columns, as the paper does: some images then keep most of their content.
/// </summary>
/// <remarks>
/// The fill is the value of a zero pixel after standardization (the training mean, 0 for standardized images),
/// as the paper's code applies the mask after normalizing. The paper's code spans 2⌊S/2⌋ rows; this one spans S,
/// so that an odd side is the side asked for.
/// </remarks>
public sealed class Cutout : IBatchAugmentation
{
    /// <param name="size">The side S of the square in pixels, at least 1.</param>
    /// <param name="probability">The chance p that an image gets its square, in [0, 1] (the paper's 1 by default).</param>
    /// <param name="fill">The value written inside the square.</param>
    /// <exception cref="ArgumentOutOfRangeException">The size is below 1 or the probability is outside [0, 1].</exception>
    public Cutout(int size, double probability = 1, float fill = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "the probability must be in [0, 1]");
        Size = size;
        Probability = probability;
        Fill = fill;
    }

    /// <summary>The side of the square in pixels.</summary>
    public int Size { get; }

    /// <summary>The chance that an image gets its square.</summary>
    public double Probability { get; }

    /// <summary>The value written inside the square.</summary>
    public float Fill { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The inputs are not a batch of images (N, C, H, W).</exception>
    public Tensor Apply(Tensor inputs, ulong seed)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"cutout needs images (N, C, H, W), got shape [{string.Join(", ", inputs.shape)}]", nameof(inputs));
        using var scope = NewDisposeScope();
        var mask = Mask(inputs.shape[0], inputs.shape[2], inputs.shape[3], seed).to(inputs.device).unsqueeze(1);
        return inputs.masked_fill(mask, HeldScalar.Of(Fill)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Where the squares fall, (N, H, W), true inside: every image's centre and coin are drawn (even with p = 0 or 1),
    /// so that a seed gives the same squares whatever the probability.
    /// </summary>
    public Tensor Mask(long count, long height, long width, ulong seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed);
        var top = randint(0, height, [count], dtype: ScalarType.Int64, generator: generator).sub_(HeldScalar.Of(Size / 2));
        var left = randint(0, width, [count], dtype: ScalarType.Int64, generator: generator).sub_(HeldScalar.Of(Size / 2));
        var chosen = rand([count], generator: generator).lt(HeldScalar.Of(Probability));
        var rows = Span(top, height);
        var columns = Span(left, width);
        return rows.unsqueeze(2).logical_and(columns.unsqueeze(1)).logical_and(chosen.view(count, 1, 1)).MoveToOuterDisposeScope();
    }

    // (N, length): true where a position lies in [first, first + S); positions outside the image do not exist, which clips.
    private Tensor Span(Tensor first, long length)
    {
        var positions = arange(HeldScalar.Of(length), dtype: ScalarType.Int64).unsqueeze(0);
        var start = first.unsqueeze(1);
        return positions.ge(start).logical_and(positions.lt(start.add(HeldScalar.Of(Size))));
    }
}
