namespace Topiary.Inference;

/// <summary>How one tensor is stored in a sparse model file; the writer picks the smallest per tensor.</summary>
public enum TensorLayout
{
    /// <summary>All values in row-major order: numel × value size bytes.</summary>
    Dense,
    /// <summary>
    /// Compressed sparse rows over [shape[0], numel / shape[0]]: row pointers (uint32, rows + 1), column
    /// indices (uint16 when the row length is at most 65,536, else uint32), then the non-zero values.
    /// </summary>
    Csr,
    /// <summary>One bit per entry (LSB first, set = non-zero), then the non-zero values in row-major order.</summary>
    Bitmask,
    /// <summary>
    /// Gap-coded rows over [shape[0], numel / shape[0]] (format version 3, rows at most 65,535 long): each row's
    /// non-zero count (uint16), then for every non-zero the gap to the previous one of its row (the first: column + 1)
    /// in bytes, each byte 255 adding 255 and the first byte below 255 ending the gap, then the non-zero values. Gaps of
    /// pruned rows are mostly below 255, so a position takes about one byte instead of CSR's two.
    /// </summary>
    Gaps,
}

/// <summary>How one tensor was stored, for reports.</summary>
/// <param name="Name">PyTorch-style parameter name, e.g. <c>fc1.weight</c>.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Layout">The layout chosen.</param>
/// <param name="Nonzero">Number of non-zero entries.</param>
/// <param name="Bytes">Bytes the tensor takes in the file.</param>
/// <param name="DenseBytes">Bytes it would take as dense float32.</param>
public sealed record StoredTensor(string Name, long[] Shape, TensorLayout Layout, long Nonzero, long Bytes, long DenseBytes)
{
    /// <summary>Bytes that say where the non-zero entries are (row pointers and column indices, counts and gaps, or the bitmask); 0 when dense.</summary>
    public long PositionBytes { get; init; }
}
