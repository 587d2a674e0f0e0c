namespace Topiary.Inference;

/// <summary>
/// One layer of a <see cref="SequentialNetwork"/>: the kinds that Topiary's models, and the users' own
/// <c>nn.Sequential</c> models read by <see cref="SequentialNetworks.FromSequential"/>, are built from.
/// Weights are plain float32 arrays in PyTorch's layout, so the exporters, the sparse file format, the
/// sparse kernels and simplification all work on the same description without libtorch.
/// </summary>
public abstract record NetworkLayer
{
    /// <summary>The layer's kind as written in files: linear, conv2d, relu, maxpool2d, avgpool2d or flatten.</summary>
    public abstract string Kind { get; }
}

/// <summary>A layer with a weight and a bias, named as in PyTorch's state dict (<c>{Name}.weight</c>, <c>{Name}.bias</c>).</summary>
/// <param name="Name">The module's name: <c>fc1</c> in a catalog model, <c>3</c> or <c>features.0</c> in an <c>nn.Sequential</c>.</param>
/// <param name="Weight">Row-major weight; one row per output unit (neuron or filter).</param>
/// <param name="Bias">One value per output unit.</param>
public abstract record WeightedLayer(string Name, float[] Weight, float[] Bias) : NetworkLayer
{
    /// <summary>The weight's shape in PyTorch: [out, in] or [out, in, kh, kw].</summary>
    public abstract long[] WeightShape { get; }

    /// <summary>Number of output units (neurons or filters): the weight's rows and the bias's length.</summary>
    public abstract int OutputUnits { get; }
}

/// <summary>Fully connected layer y = x·Wᵀ + b, with W of shape [out, in] (row-major) and b of length out.</summary>
public sealed record LinearLayer(string Name, int InFeatures, int OutFeatures, float[] Weight, float[] Bias) : WeightedLayer(Name, Weight, Bias)
{
    /// <inheritdoc />
    public override string Kind => "linear";

    /// <inheritdoc />
    public override long[] WeightShape => new long[] { OutFeatures, InFeatures };

    /// <inheritdoc />
    public override int OutputUnits => OutFeatures;
}

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch's <c>Conv2d</c> with dilation 1 and groups 1) over the input
/// zero-padded as <see cref="Window"/> says: W of shape [out, in, kh, kw] (row-major), b of length out.
/// </summary>
public sealed record Conv2dLayer(string Name, int InChannels, int OutChannels, Window2d Window, float[] Weight, float[] Bias) : WeightedLayer(Name, Weight, Bias)
{
    /// <summary>A convolution with square k×k kernels, stride 1 and no padding (Caffe's LeNet-5 convolutions).</summary>
    public Conv2dLayer(string name, int inChannels, int outChannels, int kernelSize, float[] weight, float[] bias)
        : this(name, inChannels, outChannels, Window2d.Square(kernelSize), weight, bias)
    {
    }

    /// <inheritdoc />
    public override string Kind => "conv2d";

    /// <inheritdoc />
    public override long[] WeightShape => new long[] { OutChannels, InChannels, Window.KernelHeight, Window.KernelWidth };

    /// <inheritdoc />
    public override int OutputUnits => OutChannels;

    /// <summary>The side k of the square kernel of a convolution with stride 1 and no padding (the form of the catalog models).</summary>
    /// <exception cref="InvalidOperationException">The kernel is not square, or the stride or padding is not the default: read <see cref="Window"/>.</exception>
    public int KernelSize => Window.KernelHeight == Window.KernelWidth && Window.IsUnitStrideUnpadded
        ? Window.KernelHeight
        : throw new InvalidOperationException($"conv2d '{Name}' has a {Window}, not a square kernel with stride 1 and no padding; read its Window");

    /// <inheritdoc />
    // Written out because the record's own would read KernelSize, which throws for other windows.
    public override string ToString() => $"conv2d '{Name}' {InChannels}→{OutChannels}, {Window}";
}

/// <summary>max(x, 0), element-wise.</summary>
public sealed record ReluLayer : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "relu";
}

/// <summary>Max pooling over the windows <see cref="Window"/> places; padded entries never win (PyTorch's <c>MaxPool2d</c>, dilation 1, ceil_mode off).</summary>
public sealed record MaxPool2dLayer(Window2d Window) : NetworkLayer
{
    /// <summary>Max pooling over non-overlapping k×k windows (stride k, no padding, remainder rows/columns dropped).</summary>
    public MaxPool2dLayer(int kernelSize) : this(Window2d.Square(kernelSize, stride: kernelSize))
    {
    }

    /// <inheritdoc />
    public override string Kind => "maxpool2d";

    /// <summary>The k of non-overlapping k×k windows with stride k and no padding (the form of the catalog models).</summary>
    /// <exception cref="InvalidOperationException">The window has another form: read <see cref="Window"/>.</exception>
    public int KernelSize => Window == Window2d.Square(Window.KernelHeight, stride: Window.KernelHeight)
        ? Window.KernelHeight
        : throw new InvalidOperationException($"maxpool2d has a {Window}, not k×k windows with stride k and no padding; read its Window");

    /// <inheritdoc />
    // Written out because the record's own would read KernelSize, which throws for other windows.
    public override string ToString() => $"maxpool2d, {Window}";
}

/// <summary>
/// Average pooling over the windows <see cref="Window"/> places, padded entries counted as zeros (the mean divides by
/// kh·kw everywhere): PyTorch's <c>AvgPool2d</c> with its defaults <c>count_include_pad=True</c>, no
/// <c>divisor_override</c>, ceil_mode off; ONNX's AveragePool with <c>count_include_pad=1</c>.
/// </summary>
public sealed record AvgPool2dLayer(Window2d Window) : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "avgpool2d";
}

/// <summary>Flattens [C, H, W] per sample into C·H·W features (C-major, as <c>torch.flatten(x, 1)</c>).</summary>
public sealed record FlattenLayer : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "flatten";
}
