namespace Topiary.Backend;

/// <summary>
/// One convolution the backend self-check runs: 1-D (<c>conv1d</c> on [batch, channels, size]) or 2-D
/// (<c>conv2d</c> on square [batch, channels, size, size] inputs with square kernels), with stride, zero padding,
/// dilation and groups as libtorch defines them.
/// </summary>
/// <param name="Name">What the case stands for, as messages name it (for example <c>conv2d 20→50 5×5</c>).</param>
/// <param name="Dimensions">1 or 2.</param>
/// <param name="Batch">Samples per call.</param>
/// <param name="InChannels">Input channels; a multiple of <paramref name="Groups"/>.</param>
/// <param name="OutChannels">Output channels; a multiple of <paramref name="Groups"/>.</param>
/// <param name="Size">Input length (1-D) or side (2-D).</param>
/// <param name="Kernel">Kernel length or side.</param>
/// <param name="Stride">Step between outputs.</param>
/// <param name="Padding">Zeros added on each side.</param>
/// <param name="Dilation">Spacing between kernel taps.</param>
/// <param name="Groups">Channel groups (<paramref name="InChannels"/> groups: depthwise).</param>
public sealed record ConvolutionCase(
    string Name, int Dimensions, long Batch, long InChannels, long OutChannels, long Size, long Kernel,
    long Stride = 1, long Padding = 0, long Dilation = 1, long Groups = 1)
{
    /// <summary>Output length or side: ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.</summary>
    public long OutputSize => (Size + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

    /// <summary>Input shape, [batch, channels, size] or [batch, channels, size, size].</summary>
    public long[] InputShape => Dimensions == 1 ? new[] { Batch, InChannels, Size } : new[] { Batch, InChannels, Size, Size };

    /// <summary>Weight shape, [out, in / groups, kernel] or [out, in / groups, kernel, kernel].</summary>
    public long[] WeightShape => Dimensions == 1
        ? new[] { OutChannels, InChannels / Groups, Kernel }
        : new[] { OutChannels, InChannels / Groups, Kernel, Kernel };

    /// <summary>Throws <see cref="ArgumentException"/> when the case does not describe a valid convolution.</summary>
    public void Validate()
    {
        if (Dimensions is not (1 or 2)) throw new ArgumentException($"{Name}: Dimensions must be 1 or 2, not {Dimensions}");
        if (Batch < 1 || InChannels < 1 || OutChannels < 1 || Size < 1 || Kernel < 1 || Stride < 1 || Padding < 0 || Dilation < 1 || Groups < 1)
            throw new ArgumentException($"{Name}: sizes, kernel, stride, dilation and groups must be positive and padding non-negative");
        if (InChannels % Groups != 0 || OutChannels % Groups != 0)
            throw new ArgumentException($"{Name}: InChannels ({InChannels}) and OutChannels ({OutChannels}) must be multiples of Groups ({Groups})");
        if (OutputSize < 1) throw new ArgumentException($"{Name}: the kernel does not fit the padded input");
    }
}
