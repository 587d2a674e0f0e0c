namespace Topiary.Inference;

/// <summary>
/// How a sparse model file stores the values of a tensor: float32, IEEE binary16, or the levels of a quantized weight as
/// int8, or as int4 two to a byte (low nibble first, two's complement) for grids of at most 4 bits.
/// </summary>
internal enum ValueEncoding
{
    Float32,
    Float16,
    Int8,
    Int4,
}
