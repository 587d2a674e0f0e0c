using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// Moves a tensor's memory to and from a stream in chunks, straight from and into libtorch's own buffer: no
/// managed copy of the tensor exists at any time, so a file of any size is written and read in a few megabytes of
/// managed memory, and a tensor read back has libtorch's alignment. Bytes are little-endian (callers refuse big-endian
/// machines). A checksum, when given, is fed every byte as it passes.
/// </summary>
internal static class TensorBytes
{
    // Large enough that a call's overhead is nothing, small enough that no chunk's span nears 2 GB.
    private const int ChunkBytes = 4 << 20;

    private delegate void ChunkAction(Span<byte> bytes);

    /// <summary>Writes the elements of <paramref name="tensor"/> in row-major order, in its own element type.</summary>
    public static void Write(Stream stream, Tensor tensor, Crc32? checksum)
    {
        using var scope = NewDisposeScope();
        var flat = Flat(tensor);
        ForEachChunk(flat, ChunkBytes / (int)flat.ElementSize, bytes =>
        {
            checksum?.Append(bytes);
            stream.Write(bytes);
        });
    }

    /// <summary>Writes <paramref name="tensor"/>'s elements as bits, 1 for non-zero, eight to a byte, least significant first.</summary>
    public static void WriteBits(Stream stream, Tensor tensor, Crc32? checksum)
    {
        using var scope = NewDisposeScope();
        var packed = new byte[ChunkBytes / 8];
        // A Scalar of our own, alive until the end of this method: TorchSharp passes an implicit Scalar's handle to native
        // code without keeping the object alive, so under GC pressure (encoding allocates) its finalizer could free it
        // during the call ("Unknown scalar type", seen in a resumed-run test under load).
        using var zero = 0.ToScalar();
        // ChunkBytes elements per chunk, a multiple of 8: only the last byte of the whole tensor is partial.
        ForEachChunk(Flat(tensor.ne(zero)), ChunkBytes, bools =>
        {
            var length = (bools.Length + 7) / 8;
            Array.Clear(packed, 0, length);
            for (var i = 0; i < bools.Length; i++)
                if (bools[i] != 0) packed[i >> 3] |= (byte)(1 << (i & 7));
            checksum?.Append(packed.AsSpan(0, length));
            stream.Write(packed, 0, length);
        });
    }

    /// <summary>
    /// Reads a tensor of <paramref name="shape"/> stored as <paramref name="type"/> from the stream's position into new
    /// libtorch memory, owned by the caller. The caller has checked that the bytes are there.
    /// </summary>
    /// <exception cref="EndOfStreamException">The stream ends early.</exception>
    /// <exception cref="InvalidDataException">A stored bool byte is neither 0 nor 1.</exception>
    public static Tensor Read(Stream stream, StoredType type, long[] shape, Crc32? checksum)
    {
        using var scope = NewDisposeScope();
        var result = empty(shape, type.Type);
        var flat = result.reshape(-1);
        if (type == StoredType.Bit)
        {
            var packed = new byte[ChunkBytes / 8];
            ForEachChunk(flat, ChunkBytes, bools =>
            {
                var length = (bools.Length + 7) / 8;
                stream.ReadExactly(packed, 0, length);
                checksum?.Append(packed.AsSpan(0, length));
                for (var i = 0; i < bools.Length; i++) bools[i] = (byte)((packed[i >> 3] >> (i & 7)) & 1);
            });
        }
        else
        {
            ForEachChunk(flat, ChunkBytes / (int)flat.ElementSize, bytes =>
            {
                stream.ReadExactly(bytes);
                checksum?.Append(bytes);
                // libtorch's bool is one byte that must be 0 or 1; any other value is undefined behaviour in its kernels.
                if (type.Type == ScalarType.Bool && bytes.IndexOfAnyExcept((byte)0, (byte)1) >= 0)
                    throw new InvalidDataException("a bool value is neither 0 nor 1");
            });
        }
        return result.DetachFromDisposeScope();
    }

    // Hands the bytes of consecutive runs of at most perChunk elements of a contiguous 1-D tensor to the action, in place.
    private static void ForEachChunk(Tensor flat, long perChunk, ChunkAction action)
    {
        for (long start = 0; start < flat.numel(); start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, flat.numel() - start));
            action(part.bytes);
        }
    }

    // A contiguous 1-D view of the tensor's elements on the CPU (a copy only when the tensor is not already so).
    private static Tensor Flat(Tensor tensor) => tensor.detach().cpu().contiguous().reshape(-1);
}
