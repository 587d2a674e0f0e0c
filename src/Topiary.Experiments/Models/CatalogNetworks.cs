using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Models;

/// <summary>Converts between Topiary's catalog models (<see cref="ModelCatalog"/>) and <see cref="SequentialNetwork"/>.</summary>
public static class CatalogNetworks
{
    /// <summary>
    /// Describes a catalog model as a sequential network, copying its parameters (float32, bit for bit).
    /// LeNet-5: conv1 → maxpool 2 → conv2 → maxpool 2 → flatten → fc1 → ReLU → fc2 (no activation after the
    /// convolutions, as in Caffe). LeNet-300-100: flatten → fc1 → ReLU → fc2 → ReLU → fc3.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not in the catalog.</exception>
    public static SequentialNetwork FromModel(string architecture, int imageSize, nn.Module<Tensor, Tensor> model)
    {
        var p = model.named_parameters().ToDictionary(x => x.name, x => Values(x.parameter));
        long Dim(string name, int d) => model.named_parameters().First(x => x.name == name).parameter.shape[d];
        LinearLayer Linear(string name) => new(name, (int)Dim($"{name}.weight", 1), (int)Dim($"{name}.weight", 0), p[$"{name}.weight"], p[$"{name}.bias"]);
        Conv2dLayer Conv(string name) => new(name, (int)Dim($"{name}.weight", 1), (int)Dim($"{name}.weight", 0), (int)Dim($"{name}.weight", 2), p[$"{name}.weight"], p[$"{name}.bias"]);
        IReadOnlyList<NetworkLayer> layers = architecture switch
        {
            "lenet5" => new NetworkLayer[] { Conv("conv1"), new MaxPool2dLayer(2), Conv("conv2"), new MaxPool2dLayer(2), new FlattenLayer(), Linear("fc1"), new ReluLayer(), Linear("fc2") },
            "lenet300" => new NetworkLayer[] { new FlattenLayer(), Linear("fc1"), new ReluLayer(), Linear("fc2"), new ReluLayer(), Linear("fc3") },
            _ => throw new ArgumentException($"unknown architecture '{architecture}' (expected one of: {string.Join(", ", ModelCatalog.Names)})", nameof(architecture)),
        };
        var network = new SequentialNetwork(1, imageSize, imageSize, layers);
        network.Shapes();
        return network;
    }

    /// <summary>
    /// Rebuilds the catalog model from a network with exactly its layer shapes (e.g. one loaded from a sparse
    /// model file), copying the parameters bit for bit.
    /// </summary>
    /// <exception cref="ArgumentException">The network's parameters do not match the architecture's.</exception>
    public static nn.Module<Tensor, Tensor> ToModel(SequentialNetwork network, string architecture)
    {
        var model = ModelCatalog.Create(architecture, network.InputHeight, network.OutputShape.Channels);
        var values = network.Parameters().ToDictionary(p => p.Name);
        using var _ = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!values.TryGetValue(name, out var source) || !source.Shape.SequenceEqual(parameter.shape))
                throw new ArgumentException($"the network has no parameter '{name}' of shape [{string.Join(",", parameter.shape)}] for {architecture}", nameof(network));
            using var t = tensor(source.Values).reshape(parameter.shape);
            parameter.copy_(t);
        }
        if (values.Count != model.named_parameters().Count())
            throw new ArgumentException($"the network has {values.Count} parameter tensors but {architecture} has {model.named_parameters().Count()}", nameof(network));
        return model;
    }

    private static float[] Values(Tensor parameter)
    {
        using var cpu = parameter.detach().to(float32).cpu().contiguous();
        return cpu.data<float>().ToArray();
    }
}
