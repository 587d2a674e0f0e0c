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
}

/// <summary>How one tensor was stored, for reports.</summary>
/// <param name="Name">PyTorch-style parameter name, e.g. <c>fc1.weight</c>.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Layout">The layout chosen.</param>
/// <param name="Nonzero">Number of non-zero entries.</param>
/// <param name="Bytes">Bytes the tensor takes in the file.</param>
/// <param name="DenseBytes">Bytes it would take as dense float32.</param>
public sealed record StoredTensor(string Name, long[] Shape, TensorLayout Layout, long Nonzero, long Bytes, long DenseBytes);
