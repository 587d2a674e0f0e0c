using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Which parameters to prune: by module type (<c>Linear</c>, <c>Conv2d</c>, …), by a name pattern over
/// the parameter's full name (<c>*</c> and <c>?</c> wildcards, e.g. <c>fc*.weight</c>) and by tensor kind.
/// A selection that matches nothing is an error, never a silent no-op.
/// </summary>
public sealed record LayerSelector
{
    /// <summary>The module types pruned by default: convolutions, linear layers and embeddings.</summary>
    public static IReadOnlyList<string> DefaultModuleTypes { get; } = new[] { "Conv1d", "Conv2d", "Conv3d", "Linear", "Embedding" };

    /// <summary>Module type names (the TorchSharp class names); null means <see cref="DefaultModuleTypes"/>.</summary>
    public IReadOnlyList<string>? ModuleTypes { get; init; }

    /// <summary>Wildcard pattern over the full parameter name; null matches every name.</summary>
    public string? NamePattern { get; init; }

    /// <summary>Weights only, or weights and biases.</summary>
    public ParameterScope Scope { get; init; } = ParameterScope.Weights;

    /// <summary>The selected (name, parameter) pairs in registration order.</summary>
    /// <exception cref="PruningSelectionException">Nothing matches, or a module type is unknown.</exception>
    public IReadOnlyList<(string Name, Parameter Parameter)> Select(nn.Module model)
    {
        var types = ModuleTypes ?? DefaultModuleTypes;
        var pattern = NamePattern is null ? null : WildcardToRegex(NamePattern);
        var selected = new List<(string, Parameter)>();
        foreach (var (moduleName, module) in model.named_modules().Prepend(("", model)))
        {
            if (!types.Contains(module.GetType().Name)) continue;
            foreach (var (paramName, parameter) in module.named_parameters(recurse: false))
            {
                if (Scope == ParameterScope.Weights && paramName != "weight") continue;
                var name = string.IsNullOrEmpty(moduleName) ? paramName : $"{moduleName}.{paramName}";
                if (pattern is not null && !pattern.IsMatch(name)) continue;
                selected.Add((name, parameter));
            }
        }
        if (selected.Count == 0)
            throw new PruningSelectionException($"the selector (module types {string.Join("|", types)}, name pattern '{NamePattern ?? "*"}', {Scope}) matches no parameter of '{model.GetName()}'");
        return selected;
    }

    private static Regex WildcardToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);
}
