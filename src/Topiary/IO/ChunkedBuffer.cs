namespace Topiary.IO;

/// <summary>
/// A write-only stream that keeps what is written in chunks of managed memory (no single array, so no 2 GB limit),
/// to be copied to another stream later, on another thread if need be.
/// </summary>
internal sealed class ChunkedBuffer : Stream
{
    private const int ChunkBytes = 4 << 20;
    private readonly List<byte[]> chunks = [];
    private int used = ChunkBytes;
    private long length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => length;

    public override long Position
    {
        get => length;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (used == ChunkBytes)
            {
                chunks.Add(new byte[ChunkBytes]);
                used = 0;
            }
            var n = Math.Min(buffer.Length, ChunkBytes - used);
            buffer[..n].CopyTo(chunks[^1].AsSpan(used));
            used += n;
            length += n;
            buffer = buffer[n..];
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Copies everything written so far to <paramref name="destination"/>.</summary>
    public void CopyAllTo(Stream destination)
    {
        for (var i = 0; i < chunks.Count; i++)
            destination.Write(chunks[i], 0, i == chunks.Count - 1 ? used : ChunkBytes);
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
