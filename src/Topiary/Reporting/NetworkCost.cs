namespace Topiary.Reporting;

/// <summary>
/// Size and compute of one layer (a Linear/Conv/Embedding module with its weight and bias) after pruning.
/// MACs count multiply-accumulates per input sample: weight entries × output positions (1 for a Linear on a
/// vector, H_out × W_out for a conv), so MACs left counts only non-zero weights; embeddings are lookups (0 MACs).
/// </summary>
public sealed record LayerCost(
    string Name,
    string Type,
    IReadOnlyList<long> WeightShape,
    long Total,
    long Nonzero,
    double RemainingFraction,
    double CompressionRatio,
    long Units,
    long AliveUnits,
    long DenseMacs,
    long RemainingMacs);

/// <summary>
/// The network's size and compute: every parameter of the model (total, non-zero, remaining fraction,
/// compression = total / non-zero), alive output units (neurons or filters with any non-zero weight) and
/// dense MACs against the MACs left on non-zero weights, per sample; with one <see cref="LayerCost"/> per layer.
/// </summary>
public sealed record NetworkCost(
    long Total,
    long Nonzero,
    double RemainingFraction,
    double CompressionRatio,
    long Units,
    long AliveUnits,
    long DenseMacs,
    long RemainingMacs,
    IReadOnlyList<LayerCost> Layers);
