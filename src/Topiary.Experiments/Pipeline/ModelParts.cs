using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>The default parts of a model for per-part sparsity: its parameters grouped by the type of the layer that holds them.</summary>
public static class ModelParts
{
    /// <summary>The names <see cref="ByLayerType"/> gives: a model grouped this way has no parts of its own.</summary>
    public static IReadOnlySet<string> LayerTypes { get; } = new HashSet<string> { "convolution", "linear", "embedding", "other" };

    /// <summary>Maps each parameter name of <paramref name="model"/> to <c>convolution</c>, <c>linear</c>, <c>embedding</c> or <c>other</c>.</summary>
    public static Func<string, string> ByLayerType(nn.Module model)
    {
        var parts = new Dictionary<string, string>();
        foreach (var (moduleName, module) in model.named_modules())
        {
            var part = module switch
            {
                Convolution => "convolution",
                Linear => "linear",
                Embedding => "embedding",
                _ => "other",
            };
            foreach (var (name, _) in module.named_parameters(recurse: false))
                parts[string.IsNullOrEmpty(moduleName) ? name : $"{moduleName}.{name}"] = part;
        }
        return name => parts.GetValueOrDefault(name, "other");
    }
}
