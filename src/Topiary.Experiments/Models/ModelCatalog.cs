using static TorchSharp.torch;

namespace Topiary.Models;

/// <summary>The architectures Topiary can build by name, for the CLI and for model files.</summary>
public static class ModelCatalog
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "lenet5", "lenet300" };

    /// <summary>Builds an untrained model for square single-channel images.</summary>
    /// <exception cref="ArgumentException">The name is not in <see cref="Names"/>.</exception>
    public static nn.Module<Tensor, Tensor> Create(string name, int imageSize = 28, int classes = 10) => name switch
    {
        "lenet5" => new LeNet5(imageSize, classes),
        "lenet300" => new LeNet300(imageSize * imageSize, classes),
        _ => throw new ArgumentException($"unknown model '{name}' (expected one of: {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>Total number of scalar parameters.</summary>
    public static long CountParameters(nn.Module module) => Training.RunReportBuilder.Parameters(module);
}
