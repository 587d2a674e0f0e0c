namespace Topiary.Inference;

/// <summary>
/// Where a 2-D convolution or pooling window goes: a <see cref="KernelHeight"/>×<see cref="KernelWidth"/> window
/// moved by (<see cref="StrideHeight"/>, <see cref="StrideWidth"/>) over the input padded by
/// (<see cref="PaddingHeight"/>, <see cref="PaddingWidth"/>) on each side (zeros for a convolution, ignored
/// entries for max-pooling, counted zeros for average pooling). As PyTorch's <c>Conv2d</c>/<c>MaxPool2d</c>/
/// <c>AvgPool2d</c> with dilation 1 and <c>ceil_mode=False</c>: the output is ⌊(H + 2·ph − kh) / sh⌋ + 1 high and
/// ⌊(W + 2·pw − kw) / sw⌋ + 1 wide.
/// </summary>
public readonly record struct Window2d(int KernelHeight, int KernelWidth, int StrideHeight = 1, int StrideWidth = 1, int PaddingHeight = 0, int PaddingWidth = 0)
{
    /// <summary>A k×k window with the same stride and padding along both axes.</summary>
    public static Window2d Square(int kernel, int stride = 1, int padding = 0) => new(kernel, kernel, stride, stride, padding, padding);

    /// <summary>Stride 1 and no padding: the output is (H − kh + 1)×(W − kw + 1), the case of the fastest sparse convolution.</summary>
    public bool IsUnitStrideUnpadded => StrideHeight == 1 && StrideWidth == 1 && PaddingHeight == 0 && PaddingWidth == 0;

    /// <summary>Output height for an input <paramref name="height"/> high (not positive when the window does not fit).</summary>
    public int OutputHeight(int height) => Output(height, KernelHeight, StrideHeight, PaddingHeight);

    /// <summary>Output width for an input <paramref name="width"/> wide (not positive when the window does not fit).</summary>
    public int OutputWidth(int width) => Output(width, KernelWidth, StrideWidth, PaddingWidth);

    /// <summary>(kh, kw), as libtorch's <c>kernel_size</c> argument.</summary>
    public long[] Kernel => new long[] { KernelHeight, KernelWidth };

    /// <summary>(sh, sw), as libtorch's <c>stride</c> argument.</summary>
    public long[] Stride => new long[] { StrideHeight, StrideWidth };

    /// <summary>(ph, pw), as libtorch's <c>padding</c> argument.</summary>
    public long[] Padding => new long[] { PaddingHeight, PaddingWidth };

    /// <summary>Why the window is not valid (a size below 1, a negative padding), or null when it is.</summary>
    /// <param name="pooling">Pooling also needs the padding to be at most half the kernel, as PyTorch checks.</param>
    public string? Problem(bool pooling)
    {
        if (KernelHeight < 1 || KernelWidth < 1) return $"kernel {KernelHeight}×{KernelWidth} is empty";
        if (StrideHeight < 1 || StrideWidth < 1) return $"stride ({StrideHeight}, {StrideWidth}) must be at least 1";
        if (PaddingHeight < 0 || PaddingWidth < 0) return $"padding ({PaddingHeight}, {PaddingWidth}) is negative";
        if (pooling && (PaddingHeight > KernelHeight / 2 || PaddingWidth > KernelWidth / 2))
            return $"padding ({PaddingHeight}, {PaddingWidth}) is more than half the kernel {KernelHeight}×{KernelWidth}";
        return null;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"kernel {KernelHeight}×{KernelWidth}, stride ({StrideHeight}, {StrideWidth}), padding ({PaddingHeight}, {PaddingWidth})";

    private static int Output(int size, int kernel, int stride, int padding)
    {
        var span = (long)size + 2L * padding - kernel;
        return span < 0 ? 0 : checked((int)(span / stride + 1));
    }
}
