namespace Topiary.Serialization;

/// <summary>
/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zip and PNG and of Topiary's files, computed
/// eight bytes at a time (slicing-by-8), incrementally with <see cref="Append"/> or at once with <see cref="Compute"/>.
/// Topiary's own, so that the library needs no package beyond TorchSharp and the logging abstractions.
/// </summary>
internal sealed class Crc32
{
    private static readonly uint[][] Tables = BuildTables();
    private uint state = uint.MaxValue;

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = new Crc32();
        crc.Append(data);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Adds <paramref name="data"/> to the checksum.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        var crc = state;
        var t = Tables;
        while (data.Length >= 8)
        {
            var low = crc ^ (uint)(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
            crc = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^ t[4][low >> 24]
                ^ t[3][data[4]] ^ t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
            data = data[8..];
        }
        foreach (var b in data) crc = t[0][(crc ^ b) & 0xFF] ^ (crc >> 8);
        state = crc;
    }

    /// <summary>The checksum of everything appended so far.</summary>
    public uint GetCurrentHashAsUInt32() => ~state;

    private static uint[][] BuildTables()
    {
        var tables = new uint[8][];
        tables[0] = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            tables[0][i] = c;
        }
        for (var s = 1; s < 8; s++)
        {
            tables[s] = new uint[256];
            for (var i = 0; i < 256; i++) tables[s][i] = (tables[s - 1][i] >> 8) ^ tables[0][tables[s - 1][i] & 0xFF];
        }
        return tables;
    }
}
