namespace Topiary.Reporting;

/// <summary>Sparsity of one part of a model (e.g. all attention projections), summed over its masked tensors.</summary>
public sealed record GroupSparsity(string Group, long Total, long Nonzero, double RemainingFraction)
{
    /// <summary>Sums <paramref name="layers"/> by the group <paramref name="groupOf"/> gives each name, in order of first appearance.</summary>
    public static IReadOnlyList<GroupSparsity> Summarize(IEnumerable<LayerSparsity> layers, Func<string, string> groupOf) =>
        layers.GroupBy(l => groupOf(l.Name)).Select(g =>
        {
            var total = g.Sum(l => l.Total);
            var nonzero = g.Sum(l => l.Nonzero);
            return new GroupSparsity(g.Key, total, nonzero, total == 0 ? 0 : (double)nonzero / total);
        }).ToList();
}

/// <summary>Text a language model generated from a prompt.</summary>
/// <param name="Model"><c>dense</c> or <c>pruned</c>.</param>
/// <param name="Prompt">The prompt it continued.</param>
/// <param name="Text">The prompt followed by the generated characters.</param>
/// <param name="Temperature">Sampling temperature.</param>
/// <param name="Seed">Seed of the draws.</param>
public sealed record GeneratedSample(string Model, string Prompt, string Text, double Temperature, int Seed);
