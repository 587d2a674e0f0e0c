namespace Topiary.Deployment;

/// <summary>
/// One layer of a <see cref="SequentialNetwork"/>: the five kinds that Topiary's models are built from.
/// Weights are plain float32 arrays in PyTorch's layout, so the exporters, the sparse file format, the
/// sparse kernels and simplification all work on the same description without libtorch.
/// </summary>
public abstract record NetworkLayer
{
    /// <summary>The layer's kind as written in files: linear, conv2d, relu, maxpool2d or flatten.</summary>
    public abstract string Kind { get; }
}

/// <summary>Fully connected layer y = x·Wᵀ + b, with W of shape [out, in] (row-major) and b of length out.</summary>
public sealed record LinearLayer(string Name, int InFeatures, int OutFeatures, float[] Weight, float[] Bias) : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "linear";
}

/// <summary>
/// 2-D convolution with square kernels, stride 1 and no padding (Caffe's LeNet-5 convolutions):
/// W of shape [out, in, k, k] (row-major), b of length out.
/// </summary>
public sealed record Conv2dLayer(string Name, int InChannels, int OutChannels, int KernelSize, float[] Weight, float[] Bias) : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "conv2d";
}

/// <summary>max(x, 0), element-wise.</summary>
public sealed record ReluLayer : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "relu";
}

/// <summary>Max pooling over non-overlapping k×k windows (stride k, no padding, remainder rows/columns dropped).</summary>
public sealed record MaxPool2dLayer(int KernelSize) : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "maxpool2d";
}

/// <summary>Flattens [C, H, W] per sample into C·H·W features (C-major, as <c>torch.flatten(x, 1)</c>).</summary>
public sealed record FlattenLayer : NetworkLayer
{
    /// <inheritdoc />
    public override string Kind => "flatten";
}
