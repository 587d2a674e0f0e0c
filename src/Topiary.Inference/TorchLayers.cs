using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// The libtorch operator of each <see cref="NetworkLayer"/>, shared by <see cref="TorchNetwork"/> and the dense
/// fallback of <see cref="SparseInferenceModel"/> so that both run exactly the same operators on the same layout
/// (an all-dense fallback is bit-identical to <see cref="TorchNetwork"/>).
/// </summary>
internal static class TorchLayers
{
    /// <summary>The weight and bias of a weighted layer, copied into libtorch's own (aligned) memory; see <see cref="OwnedTensors"/>.</summary>
    public static (Tensor Weight, Tensor Bias) Parameters(WeightedLayer layer) =>
        (OwnedTensors.Copy(layer.Weight, layer.WeightShape), OwnedTensors.Copy(layer.Bias, layer.Bias.Length));

    /// <summary>y = x·Wᵀ + b on [batch, in].</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor bias) => nn.functional.linear(input, weight, bias);

    /// <summary>The convolution on [batch, in, H, W] with the layer's stride and zero padding.</summary>
    public static Tensor Conv(Tensor input, Conv2dLayer layer, Tensor weight, Tensor bias) =>
        nn.functional.conv2d(input, weight, bias, layer.Window.Stride, layer.Window.Padding);

    /// <summary>Max pooling (padding never wins).</summary>
    public static Tensor MaxPool(Tensor input, Window2d window) =>
        nn.functional.max_pool2d(input, window.Kernel, window.Stride, window.Padding);

    /// <summary>Average pooling, padding counted as zeros.</summary>
    public static Tensor AvgPool(Tensor input, Window2d window) =>
        nn.functional.avg_pool2d(input, window.Kernel, window.Stride, window.Padding, ceil_mode: false, count_include_pad: true);

    /// <summary>A layer without parameters: ReLU, pooling or flatten (the sparse model's ReLU and flatten steps call the same).</summary>
    public static Tensor Parameterless(Tensor input, NetworkLayer layer) => layer switch
    {
        ReluLayer => nn.functional.relu(input),
        MaxPool2dLayer p => MaxPool(input, p.Window),
        AvgPool2dLayer p => AvgPool(input, p.Window),
        FlattenLayer => input.flatten(1),
        _ => throw new InvalidOperationException($"{layer.Kind} has parameters or no libtorch operator"),
    };
}
