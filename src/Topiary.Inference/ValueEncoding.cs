namespace Topiary.Inference;

/// <summary>How a sparse model file stores the values of a tensor: float32, IEEE binary16, or the int8 levels of a quantized weight.</summary>
internal enum ValueEncoding
{
    Float32,
    Float16,
    Int8,
}
