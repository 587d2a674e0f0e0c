using System.Buffers.Binary;
using System.Text;

namespace Topiary.Tests.Support;

/// <summary>
/// One file reader under fuzzing. To cover a new format (e.g. a sparse model file), give a valid
/// file, the reader, its typed exception, the offsets of its 32-bit size fields, and, for a format
/// with a checksum, how to recompute it so that mutations reach the parser behind the check.
/// </summary>
/// <param name="Name">Name in failure messages.</param>
/// <param name="Valid">A valid file.</param>
/// <param name="Read">Reads the file at the path given, as a user of the format would.</param>
/// <param name="Expected">The only exception type allowed; its message must be one line naming the file.</param>
/// <param name="SizeFields">Offsets of the 32-bit size and count fields of the header.</param>
/// <param name="BigEndian">Byte order of those fields.</param>
/// <param name="Reseal">Recomputes the checksum after a mutation; null when the format has none.</param>
/// <param name="Extra">Format-specific forgeries (e.g. sizes inside a JSON header), already sealed.</param>
internal sealed record FuzzTarget(string Name, byte[] Valid, Action<string> Read, Type Expected, int[] SizeFields, bool BigEndian = false,
    Func<byte[], byte[]>? Reseal = null, IReadOnlyList<(string Label, byte[] Bytes)>? Extra = null);

/// <summary>
/// Feeds a reader damaged files (random truncations, flipped bytes, size fields forged up to 2^31 and
/// beyond) and checks that each either reads or fails with the reader's typed, one-line exception
/// naming the file; never another exception, a hang, or a managed allocation larger than the real
/// file could justify.
/// </summary>
internal static class FileFuzzer
{
    private static readonly uint[] ForgedSizes = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x40000000, 0x10000000, 0xFFFF];

    public static IEnumerable<(string Label, byte[] Bytes)> Mutations(FuzzTarget target, int seed, int randomCases)
    {
        var valid = target.Valid;
        var random = new Random(seed);
        foreach (var length in new[] { 0, 1, 4, 8, 12, 16, 20, valid.Length / 2, valid.Length - 1 })
            if (length < valid.Length) yield return ($"truncated to {length} bytes", valid[..length]);
        for (var i = 0; i < randomCases; i++)
        {
            var length = random.Next(valid.Length);
            yield return ($"truncated to {length} bytes", valid[..length]);
        }
        foreach (var offset in target.SizeFields)
            foreach (var size in ForgedSizes)
            {
                var forged = (byte[])valid.Clone();
                if (target.BigEndian) BinaryPrimitives.WriteUInt32BigEndian(forged.AsSpan(offset), size);
                else BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(offset), size);
                yield return ($"size field at {offset} forged to {size}", forged);
                if (target.Reseal is { } seal) yield return ($"size field at {offset} forged to {size}, checksum fixed", seal(forged));
            }
        for (var i = 0; i < randomCases; i++)
        {
            var flipped = (byte[])valid.Clone();
            var count = 1 + random.Next(8);
            // Half the flips land in the first 256 bytes, where the headers are.
            for (var k = 0; k < count; k++)
            {
                var position = random.Next(2) == 0 ? random.Next(Math.Min(256, flipped.Length)) : random.Next(flipped.Length);
                flipped[position] ^= (byte)(1 << random.Next(8));
            }
            yield return ($"{count} bits flipped (case {i})", flipped);
            if (target.Reseal is { } seal) yield return ($"{count} bits flipped (case {i}), checksum fixed", seal(flipped));
        }
        foreach (var extra in target.Extra ?? []) yield return extra;
    }

    /// <summary>Runs every mutation through the reader; returns how many were rejected.</summary>
    public static async Task<int> RunAsync(FuzzTarget target, string directory, int seed = 1, int randomCases = 60)
    {
        var rejected = 0;
        var index = 0;
        foreach (var (label, bytes) in Mutations(target, seed, randomCases))
        {
            var path = Path.Combine(directory, $"fuzz-{index++}{target.Name}");
            await File.WriteAllBytesAsync(path, bytes);
            // Whatever the header says, reading may not allocate much more than the content the file really holds.
            var budget = 8L * target.Valid.Length + (64L << 20);
            var attempt = Task.Run<(Exception? Error, long Allocated)>(() =>
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    target.Read(path);
                    return (null, GC.GetAllocatedBytesForCurrentThread() - before);
                }
                catch (Exception e)
                {
                    return (e, GC.GetAllocatedBytesForCurrentThread() - before);
                }
            });
            var finished = await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(finished == attempt, $"{target.Name}, {label}: the reader hung");
            var (error, allocated) = await attempt;
            Assert.True(allocated <= budget, $"{target.Name}, {label}: allocated {allocated} bytes for a file of {bytes.Length}");
            if (error is not null)
            {
                Assert.True(error.GetType() == target.Expected, $"{target.Name}, {label}: {error.GetType().Name} instead of {target.Expected.Name}: {error}");
                Assert.True(!error.Message.Contains('\n') && error.Message.Contains(path), $"{target.Name}, {label}: not one line naming the file: {error.Message}");
                rejected++;
            }
            File.Delete(path);
        }
        return rejected;
    }

    /// <summary>
    /// Replaces text in a JSON header that follows a little-endian 32-bit length at
    /// <paramref name="lengthOffset"/>, fixes that length, and reseals: forges sizes the parser must
    /// check against the file rather than trust.
    /// </summary>
    public static byte[] EditJsonHeader(byte[] valid, int lengthOffset, string find, string replace, Func<byte[], byte[]> reseal)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(valid.AsSpan(lengthOffset));
        var start = lengthOffset + 4;
        var header = Encoding.UTF8.GetString(valid, start, length);
        var at = header.IndexOf(find, StringComparison.Ordinal);
        if (at < 0) throw new ArgumentException($"'{find}' is not in the header");
        var edited = Encoding.UTF8.GetBytes(header[..at] + replace + header[(at + find.Length)..]);
        var result = new byte[valid.Length - length + edited.Length];
        valid.AsSpan(0, start).CopyTo(result);
        BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(lengthOffset), edited.Length);
        edited.CopyTo(result, start);
        valid.AsSpan(start + length).CopyTo(result.AsSpan(start + edited.Length));
        return reseal(result);
    }
}
