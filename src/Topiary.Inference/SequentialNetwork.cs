namespace Topiary.Inference;

/// <summary>The shape of one sample's activations: [Channels, Height, Width], or <see cref="Flat"/> features [Channels].</summary>
public readonly record struct ActivationShape(int Channels, int Height, int Width, bool Flat)
{
    /// <summary>Number of values per sample.</summary>
    public long Size => (long)Channels * Height * Width;

    /// <inheritdoc />
    public override string ToString() => Flat ? $"[{Channels}]" : $"[{Channels}×{Height}×{Width}]";
}

/// <summary>
/// A feed-forward network as a plain list of layers on single-sample inputs of shape
/// [<see cref="InputChannels"/>, <see cref="InputHeight"/>, <see cref="InputWidth"/>]: the common description
/// behind the sparse model file, the sparse inference model, simplification and the ONNX and safetensors exporters.
/// </summary>
public sealed record SequentialNetwork(int InputChannels, int InputHeight, int InputWidth, IReadOnlyList<NetworkLayer> Layers)
{
    /// <summary>Shape of the network input per sample.</summary>
    public ActivationShape InputShape => new(InputChannels, InputHeight, InputWidth, Flat: false);

    /// <summary>
    /// The activation shape after every layer (entry i is the output of layer i).
    /// </summary>
    /// <exception cref="InvalidOperationException">A layer does not fit the shape it receives; the message names the layer.</exception>
    public IReadOnlyList<ActivationShape> Shapes()
    {
        var shapes = new List<ActivationShape>(Layers.Count);
        var shape = InputShape;
        for (var i = 0; i < Layers.Count; i++)
        {
            shape = Next(i, Layers[i], shape);
            shapes.Add(shape);
        }
        return shapes;
    }

    /// <summary>Shape of the network output per sample.</summary>
    public ActivationShape OutputShape => Layers.Count == 0 ? InputShape : Shapes()[^1];

    /// <summary>Number of weights and biases.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Values.Length);

    /// <summary>Number of weights and biases that are not exactly zero.</summary>
    public long NonzeroCount => Parameters().Sum(p => (long)p.Values.Count(v => v != 0f));

    /// <summary>
    /// Every parameter tensor with its PyTorch-style name (<c>fc1.weight</c>, <c>fc1.bias</c>, …), shape and values, in layer order.
    /// </summary>
    public IEnumerable<(string Name, long[] Shape, float[] Values)> Parameters()
    {
        foreach (var layer in Layers.OfType<WeightedLayer>())
        {
            yield return ($"{layer.Name}.weight", layer.WeightShape, layer.Weight);
            yield return ($"{layer.Name}.bias", new long[] { layer.OutputUnits }, layer.Bias);
        }
    }

    /// <summary>Names and shapes of the parameter tensors, from the layer sizes alone (the values may be empty).</summary>
    public IEnumerable<(string Name, long[] Shape)> ParameterShapes() => Parameters().Select(p => (p.Name, p.Shape));

    /// <summary>[out, in] for a linear layer, [out, in, kh, kw] for a convolution.</summary>
    public static long[] WeightShape(NetworkLayer layer) => layer is WeightedLayer weighted
        ? weighted.WeightShape
        : throw new ArgumentException($"{layer.Kind} has no weight", nameof(layer));

    private static ActivationShape Next(int index, NetworkLayer layer, ActivationShape shape)
    {
        var described = layer is WeightedLayer w ? $"{layer.Kind} '{w.Name}'" : layer.Kind;
        void Fail(string why) => throw new InvalidOperationException($"layer {index} ({described}): {why} (input {shape})");
        switch (layer)
        {
            case LinearLayer l:
                if (!shape.Flat || shape.Channels != l.InFeatures) Fail($"expects {l.InFeatures} flat features");
                if (l.Weight.Length != (long)l.InFeatures * l.OutFeatures || l.Bias.Length != l.OutFeatures) Fail("weight or bias has the wrong length");
                return new ActivationShape(l.OutFeatures, 1, 1, Flat: true);
            case Conv2dLayer c:
                if (c.Window.Problem(pooling: false) is { } convProblem) Fail(convProblem);
                if (shape.Flat || shape.Channels != c.InChannels) Fail($"expects {c.InChannels} channels");
                if (c.Weight.Length != c.WeightShape.Aggregate(1L, (a, b) => a * b) || c.Bias.Length != c.OutChannels) Fail("weight or bias has the wrong length");
                return Windowed(c.OutChannels, c.Window);
            case MaxPool2dLayer or AvgPool2dLayer:
                var window = layer is MaxPool2dLayer max ? max.Window : ((AvgPool2dLayer)layer).Window;
                if (window.Problem(pooling: true) is { } poolProblem) Fail(poolProblem);
                if (shape.Flat) Fail("expects channels of pixels, not flat features");
                return Windowed(shape.Channels, window);
            case FlattenLayer:
                return new ActivationShape(checked((int)shape.Size), 1, 1, Flat: true);
            case ReluLayer:
                return shape;
            default:
                throw new InvalidOperationException($"layer {index}: unknown layer kind {layer.Kind}");
        }

        ActivationShape Windowed(int channels, Window2d window)
        {
            int height = window.OutputHeight(shape.Height), width = window.OutputWidth(shape.Width);
            if (height < 1 || width < 1) Fail($"the {window} does not fit");
            return new ActivationShape(channels, height, width, Flat: false);
        }
    }
}
