namespace Topiary.Pruning.Toolkit;

/// <summary>Whether entries are ranked within each tensor or across all selected tensors.</summary>
public enum RankingScope
{
    /// <summary>One ranking over every selected tensor (<c>global_unstructured</c>).</summary>
    Global,
    /// <summary>Each tensor is pruned by the amount on its own (<c>l1_unstructured</c> per layer).</summary>
    PerLayer,
}
