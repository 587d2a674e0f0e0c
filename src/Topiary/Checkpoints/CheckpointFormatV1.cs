using Topiary.Serialization;

namespace Topiary.Checkpoints;

/// <summary>
/// Reader of version-1 checkpoints (Topiary before format version 2): magic, version 1, int32 header length, a JSON
/// header <c>{"state", "tensors": [{"name", "shape"}]}</c>, every tensor as float32 in table order, and a CRC-32 of
/// all that before it (<see cref="FormatV1Layout"/>). Kept so that checkpoints written before still resume.
/// </summary>
internal static class CheckpointFormatV1
{
    private const int MaxHeaderBytes = 16 << 20;

    /// <summary>Verifies the whole-file checksum, then places every tensor of the table inside the file.</summary>
    public static TensorFileReader Open(Stream stream, long length, Func<string, Exception?, Exception> error)
    {
        var (header, tensors, end) = FormatV1Layout.Open(stream, length, MaxHeaderBytes, error);
        if (end != length - 4) throw error($"size mismatch: the header describes {end + 4} bytes but the file holds {length}", null);
        return new TensorFileReader(stream, 1, header, tensors.Select(t => t.Entry).ToList(), error);
    }
}
