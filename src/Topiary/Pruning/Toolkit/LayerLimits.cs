using System.Text.RegularExpressions;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Sparsity bounds for every pruned tensor: <see cref="Default"/>, overridden for tensors whose full name
/// matches a wildcard pattern (the first matching override wins).
/// </summary>
public sealed record LayerLimits
{
    /// <summary>No bounds anywhere.</summary>
    public static LayerLimits None { get; } = new();

    /// <summary>Bounds of tensors no override names.</summary>
    public SparsityLimits Default { get; init; } = SparsityLimits.None;

    /// <summary>(pattern with <c>*</c>/<c>?</c>, bounds) pairs, checked in order.</summary>
    public IReadOnlyList<(string Pattern, SparsityLimits Limits)> Overrides { get; init; } = Array.Empty<(string, SparsityLimits)>();

    /// <summary>The bounds of the tensor called <paramref name="name"/>.</summary>
    public SparsityLimits For(string name)
    {
        foreach (var (pattern, limits) in Overrides)
            if (Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant))
                return limits.Validated();
        return Default.Validated();
    }
}
