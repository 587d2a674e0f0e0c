using System.Buffers.Binary;
using System.Text;
using Topiary.Serialization;

namespace Topiary.Inference;

/// <summary>
/// Writes a zip archive whose entries are stored uncompressed and whose data each start at a multiple of
/// <see cref="Alignment"/> bytes from the start of the file, the layout of PyTorch's <c>torch.save</c> archives
/// (so a reader can map tensor data in place). The padding goes into an extra field of the local header with
/// PyTorch's id "FB" and 'Z' bytes. Plain zip, not zip64: the archive must stay under 4 GiB.
/// </summary>
internal sealed class AlignedZipWriter
{
    /// <summary>Alignment of every entry's data, as in PyTorch's writer.</summary>
    public const int Alignment = 64;

    private const int LocalHeaderSize = 30, PaddingFieldHeaderSize = 4;
    private const ushort VersionNeeded = 20;
    // DOS date 1980-01-01 00:00: a fixed timestamp keeps the output a pure function of the model.
    private const ushort DosTime = 0, DosDate = (0 << 9) | (1 << 5) | 1;

    private readonly Stream stream;
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> entries = new();
    private long position;

    public AlignedZipWriter(Stream stream) => this.stream = stream;

    /// <summary>Appends one stored entry.</summary>
    public void Add(string name, ReadOnlySpan<byte> data)
    {
        var nameBytes = Encoding.ASCII.GetBytes(name);
        var headerEnd = position + LocalHeaderSize + nameBytes.Length + PaddingFieldHeaderSize;
        var padding = (int)((Alignment - headerEnd % Alignment) % Alignment);
        var offset = Checked32(position, name);
        var size = Checked32(data.Length, name);
        var crc = Crc32.Compute(data);

        Span<byte> header = stackalloc byte[LocalHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x04034b50);
        WriteSharedFields(header[4..], crc, size, nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[28..], (ushort)(PaddingFieldHeaderSize + padding));
        Write(header);
        Write(nameBytes);
        Span<byte> field = stackalloc byte[PaddingFieldHeaderSize];
        field[0] = (byte)'F';
        field[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(field[2..], (ushort)padding);
        Write(field);
        for (var i = 0; i < padding; i++) Write("Z"u8);
        Write(data);
        entries.Add((nameBytes, crc, size, offset));
    }

    /// <summary>Writes the central directory and the end record; the archive is complete afterwards.</summary>
    public void Finish()
    {
        var directoryStart = position;
        Span<byte> record = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in entries)
        {
            record.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(record, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(record[4..], VersionNeeded); // "version made by"
            WriteSharedFields(record[6..], crc, size, name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[42..], offset);
            Write(record);
            Write(name);
        }
        var directorySize = Checked32(position - directoryStart, "central directory");
        Span<byte> end = stackalloc byte[22];
        end.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], checked((ushort)entries.Count));
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], checked((ushort)entries.Count));
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], directorySize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], Checked32(directoryStart, "central directory"));
        Write(end);
    }

    /// <summary>
    /// The run of fields that local headers and central directory records share, from "version needed" to the
    /// name length: version, flags 0, method 0 (stored), time, date, CRC-32, compressed and uncompressed size.
    /// </summary>
    private static void WriteSharedFields(Span<byte> fields, uint crc, uint size, int nameLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(fields, VersionNeeded);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[2..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[4..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[6..], DosTime);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[8..], DosDate);
        BinaryPrimitives.WriteUInt32LittleEndian(fields[10..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(fields[14..], size);
        BinaryPrimitives.WriteUInt32LittleEndian(fields[18..], size);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[22..], checked((ushort)nameLength));
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        position += bytes.Length;
    }

    private static uint Checked32(long value, string what) => value <= uint.MaxValue
        ? (uint)value
        : throw new InvalidOperationException($"{what}: the archive would exceed 4 GiB, which needs zip64 (not supported)");
}
