using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// Describes a user's own TorchSharp <c>nn.Sequential</c> as a <see cref="SequentialNetwork"/>, so that the sparse
/// file, simplification, the ONNX and PyTorch exports and sparse inference work on it as on the catalog models.
/// </summary>
public static class SequentialNetworks
{
    /// <summary>What an <c>nn.Sequential</c> may hold, as error messages list it.</summary>
    public const string SupportedLayers =
        "Linear, Conv2d (dilation 1, groups 1, zero padding), ReLU, MaxPool2d and AvgPool2d (ceil_mode off), Flatten, " +
        "BatchNorm2d after a Conv2d and BatchNorm1d after a Linear (folded into it), Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, " +
        "FeatureAlphaDropout and Identity (dropped), nested Sequential";

    /// <summary>
    /// Reads <paramref name="model"/> for inputs of shape [<paramref name="channels"/>, <paramref name="height"/>,
    /// <paramref name="width"/>] per sample, copying its parameters as float32 (a float64 or float16 model is
    /// converted; any device). Each layer keeps its name in the Sequential (<c>0</c>, <c>3</c>, or <c>features.0</c>
    /// inside a nested Sequential), so the parameters are named as in the module's state dict (<c>0.weight</c>,
    /// <c>3.bias</c>). A Linear or Conv2d without bias gets a zero bias. A BatchNorm right after a Conv2d
    /// (BatchNorm2d) or Linear (BatchNorm1d) is folded into that layer with the statistics it uses in eval mode,
    /// γ = weight, β = bias (1 and 0 without affine), μ = running_mean, σ² = running_var: with s = γ / √(σ² + eps),
    /// W′[o] = s[o]·W[o] and b′[o] = s[o]·(b[o] − μ[o]) + β[o] (Ioffe and Szegedy, 2015, with the folding of Jacob et
    /// al., 2018), so the network has no BatchNorm layer and the BatchNorm's state-dict entries are gone. Dropout
    /// layers are dropped (they are the identity in eval mode). A Sequential that starts with a Linear takes flat
    /// features: pass <paramref name="height"/> = <paramref name="width"/> = 1 and a Flatten is put in front.
    /// </summary>
    /// <exception cref="NotSupportedException">
    /// A layer, or a setting of one, has no equivalent (e.g. GELU, a dilated Conv2d, a BatchNorm that follows no
    /// Conv2d or Linear, track_running_stats off); the one-line message names the layer and its type and lists
    /// <see cref="SupportedLayers"/>.
    /// </exception>
    /// <exception cref="InvalidOperationException">A layer does not fit the shape it receives (message names the layer).</exception>
    public static SequentialNetwork FromSequential(Sequential model, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = new List<NetworkLayer>();
        using (no_grad())
        {
            foreach (var (name, module) in Layers(model, prefix: ""))
                Add(layers, name, module);
        }
        if (layers.Count > 0 && layers[0] is LinearLayer && height == 1 && width == 1) layers.Insert(0, new FlattenLayer());
        var network = new SequentialNetwork(channels, height, width, layers);
        network.Shapes();
        return network;
    }

    private static IEnumerable<(string Name, nn.Module Module)> Layers(Sequential model, string prefix)
    {
        foreach (var (name, module) in model.named_children())
        {
            if (module is Sequential inner)
            {
                foreach (var nested in Layers(inner, $"{prefix}{name}.")) yield return nested;
            }
            else
            {
                yield return ($"{prefix}{name}", module);
            }
        }
    }

    private static void Add(List<NetworkLayer> layers, string name, nn.Module module)
    {
        var type = module.GetType().Name;
        void Refuse(string why) => throw new NotSupportedException($"layer '{name}' ({type}): {why}");
        switch (module)
        {
            case Linear linear:
            {
                var weight = Values(linear.weight!);
                var (outFeatures, inFeatures) = ((int)linear.weight!.shape[0], (int)linear.weight.shape[1]);
                layers.Add(new LinearLayer(name, inFeatures, outFeatures, weight, linear.bias is null ? new float[outFeatures] : Values(linear.bias)));
                break;
            }
            case Conv2d conv:
            {
                if (conv.dilation is { } dilation && dilation.Any(d => d != 1)) Refuse($"dilation {Tuple(dilation)} is not supported (only 1)");
                if (conv.groups != 1) Refuse($"groups={conv.groups} is not supported (only 1)");
                if (conv.padding_mode != TorchSharp.PaddingModes.Zeros) Refuse($"padding_mode {conv.padding_mode} is not supported (only Zeros)");
                var shape = conv.weight!.shape;
                var (kernelHeight, kernelWidth) = ((int)shape[2], (int)shape[3]);
                var (strideHeight, strideWidth) = Pair(conv.stride, 1);
                var (paddingHeight, paddingWidth) = conv.padding_type switch
                {
                    TorchSharp.Padding.Valid => (0, 0),
                    // 'same' pads (k − 1) / 2 on each side, which is symmetric, and keeps the size, only for odd kernels and stride 1.
                    TorchSharp.Padding.Same when kernelHeight % 2 == 1 && kernelWidth % 2 == 1 && strideHeight == 1 && strideWidth == 1 => ((kernelHeight - 1) / 2, (kernelWidth - 1) / 2),
                    TorchSharp.Padding.Same => throw new NotSupportedException($"layer '{name}' ({type}): padding='same' with a {kernelHeight}×{kernelWidth} kernel pads unevenly (only odd kernels)"),
                    _ => Pair(conv.padding, 0),
                };
                var window = new Window2d(kernelHeight, kernelWidth, strideHeight, strideWidth, paddingHeight, paddingWidth);
                var outChannels = (int)shape[0];
                layers.Add(new Conv2dLayer(name, (int)shape[1], outChannels, window, Values(conv.weight), conv.bias is null ? new float[outChannels] : Values(conv.bias)));
                break;
            }
            case BatchNorm1d or BatchNorm2d:
            {
                var norm = (NormBase)module;
                var wanted = module is BatchNorm2d ? "Conv2d" : "Linear";
                var previous = layers.Count == 0 ? null : layers[^1];
                if (previous is not WeightedLayer target || (module is BatchNorm2d) != (previous is Conv2dLayer))
                    Refuse($"a {type} is folded into the {wanted} right before it, but it follows {(previous is null ? "the input" : Describe(previous))}; supported: {SupportedLayers}");
                if (!norm.track_running_stats || norm.running_mean is null || norm.running_var is null)
                    Refuse("track_running_stats=False normalizes each batch by its own statistics, which cannot be folded");
                layers[^1] = Fold((WeightedLayer)previous!, norm, Refuse);
                break;
            }
            case ReLU:
                layers.Add(new ReluLayer());
                break;
            case MaxPool2d pool:
            {
                if (pool.dilation is { } dilation && dilation.Any(d => d != 1)) Refuse($"dilation {Tuple(dilation)} is not supported (only 1)");
                if (pool.ceil_mode) Refuse("ceil_mode=True is not supported");
                layers.Add(new MaxPool2dLayer(PoolWindow(pool.kernel_size, pool.stride, pool.padding)));
                break;
            }
            case AvgPool2d pool:
            {
                if (pool.ceil_mode) Refuse("ceil_mode=True is not supported");
                if (!pool.count_include_pad) Refuse("count_include_pad=False is not supported (only PyTorch's default, True)");
                if (pool.divisor_override is not null) Refuse($"divisor_override={pool.divisor_override} is not supported");
                layers.Add(new AvgPool2dLayer(PoolWindow(pool.kernel_size, pool.stride, pool.padding)));
                break;
            }
            case Flatten flatten:
                if (flatten.start_dim != 1 || flatten.end_dim != -1) Refuse($"start_dim={flatten.start_dim}, end_dim={flatten.end_dim} is not supported (only 1 and -1)");
                layers.Add(new FlattenLayer());
                break;
            case Dropout or Dropout1d or Dropout2d or Dropout3d or AlphaDropout or FeatureAlphaDropout or Identity:
                break;
            default:
                Refuse($"not supported; supported: {SupportedLayers}");
                break;
        }
    }

    /// <summary>The layer with the BatchNorm after it folded in (see <see cref="FromSequential"/>), computed in double.</summary>
    private static WeightedLayer Fold(WeightedLayer layer, NormBase norm, Action<string> refuse)
    {
        var units = layer.OutputUnits;
        if (norm.num_features != units) refuse($"{norm.num_features} features, but {Describe(layer)} has {units} outputs");
        var mean = Values(norm.running_mean!);
        var variance = Values(norm.running_var!);
        var gamma = norm.weight is null ? null : Values(norm.weight);
        var beta = norm.bias is null ? null : Values(norm.bias);
        var rowLength = layer.Weight.Length / units;
        var weight = new float[layer.Weight.Length];
        var bias = new float[units];
        for (var o = 0; o < units; o++)
        {
            var scale = (gamma?[o] ?? 1.0) / Math.Sqrt(variance[o] + norm.eps);
            for (var i = o * rowLength; i < (o + 1) * rowLength; i++) weight[i] = (float)(layer.Weight[i] * scale);
            bias[o] = (float)((layer.Bias[o] - mean[o]) * scale + (beta?[o] ?? 0.0));
        }
        return layer with { Weight = weight, Bias = bias };
    }

    private static Window2d PoolWindow(long[] kernel, long[]? stride, long[]? padding)
    {
        var (kernelHeight, kernelWidth) = Pair(kernel, 1);
        // PyTorch's stride=None means stride = kernel size.
        var (strideHeight, strideWidth) = stride is null or { Length: 0 } ? (kernelHeight, kernelWidth) : Pair(stride, 1);
        var (paddingHeight, paddingWidth) = Pair(padding, 0);
        return new Window2d(kernelHeight, kernelWidth, strideHeight, strideWidth, paddingHeight, paddingWidth);
    }

    /// <summary>(height, width) from a TorchSharp size argument: null is the default, one value stands for both.</summary>
    private static (int Height, int Width) Pair(long[]? values, int fallback) => values switch
    {
        null or { Length: 0 } => (fallback, fallback),
        { Length: 1 } => (checked((int)values[0]), checked((int)values[0])),
        _ => (checked((int)values[0]), checked((int)values[1])),
    };

    private static string Tuple(long[] values) => $"({string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))})";

    private static string Describe(NetworkLayer layer) => layer is WeightedLayer w ? $"{layer.Kind} '{w.Name}'" : layer.Kind;

    private static float[] Values(Tensor tensor)
    {
        using var values = tensor.detach().cpu().to(float32).contiguous();
        return values.data<float>().ToArray();
    }
}
