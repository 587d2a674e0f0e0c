namespace Topiary.Deployment;

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
        foreach (var layer in Layers)
        {
            switch (layer)
            {
                case LinearLayer l:
                    yield return ($"{l.Name}.weight", WeightShape(l), l.Weight);
                    yield return ($"{l.Name}.bias", new long[] { l.OutFeatures }, l.Bias);
                    break;
                case Conv2dLayer c:
                    yield return ($"{c.Name}.weight", WeightShape(c), c.Weight);
                    yield return ($"{c.Name}.bias", new long[] { c.OutChannels }, c.Bias);
                    break;
            }
        }
    }

    /// <summary>Names and shapes of the parameter tensors, from the layer sizes alone (the values may be empty).</summary>
    public IEnumerable<(string Name, long[] Shape)> ParameterShapes() => Parameters().Select(p => (p.Name, p.Shape));

    /// <summary>[out, in] for a linear layer, [out, in, k, k] for a convolution.</summary>
    public static long[] WeightShape(NetworkLayer layer) => layer switch
    {
        LinearLayer l => new long[] { l.OutFeatures, l.InFeatures },
        Conv2dLayer c => new long[] { c.OutChannels, c.InChannels, c.KernelSize, c.KernelSize },
        _ => throw new ArgumentException($"{layer.Kind} has no weight", nameof(layer)),
    };

    private static ActivationShape Next(int index, NetworkLayer layer, ActivationShape shape)
    {
        void Fail(string why) => throw new InvalidOperationException($"layer {index} ({layer.Kind}): {why} (input {shape})");
        switch (layer)
        {
            case LinearLayer l:
                if (!shape.Flat || shape.Channels != l.InFeatures) Fail($"expects {l.InFeatures} flat features");
                if (l.Weight.Length != (long)l.InFeatures * l.OutFeatures || l.Bias.Length != l.OutFeatures) Fail("weight or bias has the wrong length");
                return new ActivationShape(l.OutFeatures, 1, 1, Flat: true);
            case Conv2dLayer c:
                if (shape.Flat || shape.Channels != c.InChannels || shape.Height < c.KernelSize || shape.Width < c.KernelSize)
                    Fail($"expects {c.InChannels} channels of at least {c.KernelSize}×{c.KernelSize}");
                if (c.Weight.Length != (long)c.OutChannels * c.InChannels * c.KernelSize * c.KernelSize || c.Bias.Length != c.OutChannels)
                    Fail("weight or bias has the wrong length");
                return new ActivationShape(c.OutChannels, shape.Height - c.KernelSize + 1, shape.Width - c.KernelSize + 1, Flat: false);
            case MaxPool2dLayer p:
                if (shape.Flat || p.KernelSize < 1 || shape.Height < p.KernelSize || shape.Width < p.KernelSize) Fail($"cannot pool {p.KernelSize}×{p.KernelSize}");
                return new ActivationShape(shape.Channels, shape.Height / p.KernelSize, shape.Width / p.KernelSize, Flat: false);
            case FlattenLayer:
                return new ActivationShape(checked((int)shape.Size), 1, 1, Flat: true);
            case ReluLayer:
                return shape;
            default:
                throw new InvalidOperationException($"layer {index}: unknown layer kind {layer.Kind}");
        }
    }
}
