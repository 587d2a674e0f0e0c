using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// Random horizontal flip (Krizhevsky, Sutskever and Hinton, NeurIPS 2012): with probability <see cref="Probability"/>
/// each image of a batch (N, C, H, W) is mirrored left to right, out[n, c, i, j] = in[n, c, i, W − 1 − j]. For data
/// whose classes keep their identity in a mirror (clothing, natural images); not for digits or text.
/// </summary>
public sealed class HorizontalFlip : IBatchAugmentation
{
    /// <param name="probability">The chance p that an image is mirrored, in [0, 1] (0.5 by default).</param>
    /// <exception cref="ArgumentOutOfRangeException">The probability is outside [0, 1].</exception>
    public HorizontalFlip(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "the probability must be in [0, 1]");
        Probability = probability;
    }

    /// <summary>The chance that an image is mirrored.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The inputs are not a batch of images (N, C, H, W).</exception>
    public Tensor Apply(Tensor inputs, ulong seed)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"flip needs images (N, C, H, W), got shape [{string.Join(", ", inputs.shape)}]", nameof(inputs));
        using var scope = NewDisposeScope();
        var chosen = Chosen(inputs.shape[0], seed).to(inputs.device).view(inputs.shape[0], 1, 1, 1);
        return where(chosen, inputs.flip(3), inputs).MoveToOuterDisposeScope();
    }

    /// <summary>Which images are mirrored, (N), true for mirrored, drawn from <paramref name="seed"/> only.</summary>
    public Tensor Chosen(long count, ulong seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed);
        return rand([count], generator: generator).lt(HeldScalar.Of(Probability)).MoveToOuterDisposeScope();
    }
}
