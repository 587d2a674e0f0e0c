using System.Buffers.Binary;
using System.IO.Compression;

namespace Topiary.Tests.Support;

/// <summary>
/// Writes a small learnable IDX data set: each class is a fixed random 28×28 prototype plus noise,
/// so a LeNet reaches high accuracy within an epoch. Used where tests must not depend on the
/// installed Fashion-MNIST.
/// </summary>
internal static class SyntheticIdx
{
    public static void Write(string directory, int trainCount, int testCount, int seed = 7, int size = 28, int classes = 10)
    {
        var random = new Random(seed);
        var prototypes = Enumerable.Range(0, classes).Select(_ => Enumerable.Range(0, size * size).Select(_ => random.Next(256)).ToArray()).ToArray();
        Directory.CreateDirectory(directory);
        WriteSplit(directory, "train", trainCount, random, prototypes, size);
        WriteSplit(directory, "t10k", testCount, random, prototypes, size);
    }

    private static void WriteSplit(string directory, string prefix, int count, Random random, int[][] prototypes, int size)
    {
        var labels = new byte[count];
        var pixels = new byte[count * size * size];
        for (var i = 0; i < count; i++)
        {
            var label = random.Next(prototypes.Length);
            labels[i] = (byte)label;
            for (var p = 0; p < size * size; p++)
                pixels[i * size * size + p] = (byte)Math.Clamp(prototypes[label][p] + random.Next(-90, 91), 0, 255);
        }
        WriteGzip(Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz"), Header(0x803, count, size, size), pixels);
        WriteGzip(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz"), Header(0x801, count), labels);
    }

    private static byte[] Header(int magic, params int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return header;
    }

    private static void WriteGzip(string path, byte[] header, byte[] body)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(header);
        gzip.Write(body);
    }
}
