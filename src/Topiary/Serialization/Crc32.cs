namespace Topiary.Serialization;

/// <summary>
/// CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum of zip and PNG. System.IO.Hashing's vectorized
/// implementation: a file of hundreds of megabytes is checked at memory speed, not at a table lookup per byte.
/// </summary>
internal static class Crc32
{
    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);
}
