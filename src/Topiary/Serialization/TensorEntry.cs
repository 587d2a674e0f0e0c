namespace Topiary.Serialization;

/// <summary>
/// Where one tensor lies in a Topiary file: its name, stored type and shape, the offset and length of its bytes,
/// and whether a CRC-32 of those bytes follows them (version 2; version 1 has one checksum for the whole file).
/// </summary>
internal sealed record TensorEntry(string Name, StoredType Type, long[] Shape, long Offset, long ByteLength, bool Checksummed);
