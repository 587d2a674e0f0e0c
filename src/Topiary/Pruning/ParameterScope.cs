using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>Which tensors of the convolution and linear layers a regularizer or pruner acts on.</summary>
public enum ParameterScope
{
    /// <summary>Weights and biases, as in Bonetta et al.'s code.</summary>
    WeightsAndBiases,
    /// <summary>Weights only, as in most magnitude-pruning papers.</summary>
    Weights,
}

/// <summary>Selects the parameters of a model's convolution and linear layers.</summary>
public static class ParameterSelector
{
    /// <summary>
    /// The named parameters of every Conv1d/Conv2d/Conv3d, Linear and Embedding module, in
    /// registration order (so that global rankings break ties the same way every run).
    /// </summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> Select(nn.Module model, ParameterScope scope)
    {
        var selected = new List<(string, Parameter)>();
        foreach (var (moduleName, module) in model.named_modules().Prepend(("", model)))
        {
            if (module is not (Conv1d or Conv2d or Conv3d or Linear or Embedding)) continue;
            foreach (var (paramName, parameter) in module.named_parameters(recurse: false))
            {
                if (scope == ParameterScope.Weights && paramName != "weight") continue;
                selected.Add((string.IsNullOrEmpty(moduleName) ? paramName : $"{moduleName}.{paramName}", parameter));
            }
        }
        if (selected.Count == 0)
            throw new ArgumentException($"the model '{model.GetName()}' has no convolution, linear or embedding layer to select", nameof(model));
        return selected;
    }
}
