namespace Topiary.Pruning.Toolkit;

/// <summary>A layer selection or pruning request that cannot be honoured (e.g. a selector that matches no layer).</summary>
public sealed class PruningSelectionException(string message) : ArgumentException(message);
