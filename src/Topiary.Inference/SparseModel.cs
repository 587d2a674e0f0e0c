using System.Text.Json.Nodes;

namespace Topiary.Inference;

/// <summary>The contents of a sparse model file (<see cref="SparseModelFile"/>).</summary>
/// <param name="Network">The network, with float32 parameters.</param>
/// <param name="Architecture">
/// The catalog architecture (<c>lenet5</c>, <c>lenet300</c>) when the network still has its shapes, so that
/// <c>CatalogNetworks.ToModel</c> (Topiary.Experiments) can rebuild it; null after simplification and for a user's own network.
/// </param>
/// <param name="HalfPrecision">True when the values were stored as float16.</param>
/// <param name="Tensors">How each parameter tensor is stored.</param>
/// <param name="Metadata">Free metadata carried over from the source model.</param>
public sealed record SparseModel(SequentialNetwork Network, string? Architecture, bool HalfPrecision, IReadOnlyList<StoredTensor> Tensors, JsonObject Metadata)
{
    /// <summary>The bits of the weights' integer grid when the file stores them quantized (int8 levels and scales), else null.</summary>
    public int? WeightBits { get; init; }
}
