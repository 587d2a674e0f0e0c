using System.Buffers.Binary;
using System.IO.Compression;

namespace Topiary.Data;

/// <summary>
/// Reads unsigned-byte IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
/// Every problem surfaces as an <see cref="IdxFormatException"/> naming the file and the reason.
/// </summary>
public static class IdxReader
{
    private const uint ImagesMagic = 0x00000803;
    private const uint LabelsMagic = 0x00000801;

    // Images larger than this are not MNIST-like; a bigger side almost surely means a forged or misread header.
    private const int MaxImageSide = 4096;

    // Headers are untrusted: nothing is allocated for a payload above this, whatever the header claims.
    private const long MaxPayloadBytes = 1L << 30;

    // Gzip hides the decompressed length, so a payload is only allocated as fast as data actually arrives.
    private const int ChunkBytes = 4 << 20;

    private static readonly string[] StandardStems =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Reads an IDX images file (magic <c>0x00000803</c>: count, rows, columns).</summary>
    /// <param name="path">A raw or gzip-compressed IDX file; gzip is detected by its magic bytes.</param>
    /// <returns>The images with their pixels in row-major order.</returns>
    /// <exception cref="IdxFormatException">The file is missing, unreadable, truncated or not a valid images file.</exception>
    public static IdxImages ReadImages(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (dims, pixels) = ReadIdx(path, ImagesMagic, "IDX images", CheckImageDims,
            d => $"{d[0]} images of {d[1]}x{d[2]}");
        return new IdxImages(dims[0], dims[1], dims[2], pixels);
    }

    /// <summary>Reads an IDX labels file (magic <c>0x00000801</c>: count).</summary>
    /// <param name="path">A raw or gzip-compressed IDX file; gzip is detected by its magic bytes.</param>
    /// <param name="classCount">Number of classes; every label must lie in <c>0..classCount-1</c>.</param>
    /// <returns>One byte per label.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classCount"/> is not in 1..256.</exception>
    /// <exception cref="IdxFormatException">The file is missing, unreadable, truncated, not a valid labels file, or holds a label out of range.</exception>
    public static byte[] ReadLabels(string path, int classCount = 10)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classCount, 256);
        var (_, labels) = ReadIdx(path, LabelsMagic, "IDX labels", static _ => null, d => $"{d[0]} labels");
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
                throw new IdxFormatException(path, $"label {labels[i]} at index {i} is outside 0..{classCount - 1}");
        }
        return labels;
    }

    /// <summary>Reads an images file and its labels file, which must hold the same number of items.</summary>
    /// <param name="imagesPath">The IDX images file.</param>
    /// <param name="labelsPath">The IDX labels file.</param>
    /// <param name="classCount">Number of classes; every label must lie in <c>0..classCount-1</c>.</param>
    /// <returns>The images with their labels.</returns>
    /// <exception cref="IdxFormatException">Either file is invalid, or the counts disagree (reported on the images file).</exception>
    public static LabeledImages ReadPair(string imagesPath, string labelsPath, int classCount = 10)
    {
        var images = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath, classCount);
        if (images.Count != labels.Length)
        {
            throw new IdxFormatException(imagesPath,
                $"holds {images.Count} images but {labelsPath} holds {labels.Length} labels");
        }
        return new LabeledImages(images, labels);
    }

    /// <summary>Finds <c>stem.gz</c> or, failing that, <c>stem</c> in <paramref name="directory"/>.</summary>
    /// <param name="directory">The directory to look in.</param>
    /// <param name="stem">The file name without the <c>.gz</c> suffix, e.g. <c>train-images-idx3-ubyte</c>.</param>
    /// <returns>The path of the compressed file if it exists, else the path of the raw file.</returns>
    /// <exception cref="IdxFormatException">Neither file exists; <see cref="IdxFormatException.FilePath"/> is <c>directory/stem[.gz]</c>.</exception>
    public static string ResolveFile(string directory, string stem)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(stem);
        string raw = Path.Combine(directory, stem);
        string gz = raw + ".gz";
        if (File.Exists(gz))
            return gz;
        if (File.Exists(raw))
            return raw;
        throw new IdxFormatException(raw + "[.gz]", $"file not found (looked for {stem}.gz and {stem})");
    }

    /// <summary>
    /// Reads the four standard files (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
    /// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each raw or <c>.gz</c>) from a directory.
    /// </summary>
    /// <param name="directory">The data set directory.</param>
    /// <param name="classCount">Number of classes; every label must lie in <c>0..classCount-1</c>.</param>
    /// <returns>The train and test splits.</returns>
    /// <exception cref="IdxFormatException">The directory or a file is missing, a file is invalid, or the splits' image sizes differ.</exception>
    public static IdxDataset LoadDataset(string directory, int classCount = 10)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new IdxFormatException(directory, "directory not found");

        string[] paths = Array.ConvertAll(StandardStems, stem => ResolveFile(directory, stem));
        var train = ReadPair(paths[0], paths[1], classCount);
        var test = ReadPair(paths[2], paths[3], classCount);
        var (a, b) = (train.Images, test.Images);
        if (a.Rows != b.Rows || a.Columns != b.Columns)
        {
            throw new IdxFormatException(paths[2],
                $"images are {b.Rows}x{b.Columns} but {paths[0]} has {a.Rows}x{a.Columns}");
        }
        return new IdxDataset(directory, train, test);
    }

    private static string? CheckImageDims(int[] dims)
    {
        for (int i = 1; i < dims.Length; i++)
        {
            if (dims[i] > MaxImageSide)
                return $"dimension {i} is {dims[i]}, over the {MaxImageSide}-pixel limit per image side";
        }
        return null;
    }

    private static (int[] Dims, byte[] Data) ReadIdx(
        string path, uint magic, string kind, Func<int[], string?> checkDims, Func<int[], string> describe)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new IdxFormatException(path, "file not found", ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new IdxFormatException(path, $"cannot open: {ex.Message}", ex);
        }

        using (file)
        {
            try
            {
                bool gzip = IsGzip(file);
                using var gz = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : null;
                Stream stream = gz is null ? file : gz;
                int[] dims = ReadHeader(stream, path, magic, kind);
                if (checkDims(dims) is { } problem)
                    throw new IdxFormatException(path, problem);

                long bytes = PayloadBytes(path, dims, describe);
                long headerBytes = 4 + 4L * dims.Length;
                byte[] data = gzip
                    ? ReadGzipPayload(stream, path, bytes, describe(dims))
                    : ReadRawPayload(file, path, bytes, file.Length - headerBytes, describe(dims));
                return (dims, data);
            }
            catch (InvalidDataException ex)
            {
                throw new IdxFormatException(path, $"corrupt gzip data: {ex.Message}", ex);
            }
            catch (IOException ex)
            {
                throw new IdxFormatException(path, $"read error: {ex.Message}", ex);
            }
        }
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> head = stackalloc byte[2];
        int n = file.ReadAtLeast(head, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return n == 2 && head[0] == 0x1f && head[1] == 0x8b;
    }

    private static int[] ReadHeader(Stream stream, string path, uint expectedMagic, string kind)
    {
        Span<byte> word = stackalloc byte[4];
        int n = stream.ReadAtLeast(word, 4, throwOnEndOfStream: false);
        if (n < 4)
            throw new IdxFormatException(path, $"truncated: the file ends inside the header ({n} of 4 magic bytes)");

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(word);
        if (magic != expectedMagic)
        {
            string hint = magic == ImagesMagic ? "; this looks like an IDX images file"
                : magic == LabelsMagic ? "; this looks like an IDX labels file"
                : "";
            throw new IdxFormatException(path,
                $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} ({kind}){hint}");
        }

        var dims = new int[expectedMagic & 0xFF];
        for (int i = 0; i < dims.Length; i++)
        {
            if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                throw new IdxFormatException(path, $"truncated: the file ends inside the header (at dimension {i})");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] <= 0)
                throw new IdxFormatException(path, $"dimension {i} is {dims[i]}");
        }
        return dims;
    }

    private static long PayloadBytes(string path, int[] dims, Func<int[], string> describe)
    {
        // Int128 cannot overflow for up to three positive int32 factors, so the check itself is safe.
        Int128 product = 1;
        foreach (int d in dims)
            product *= d;
        if (product > MaxPayloadBytes)
        {
            throw new IdxFormatException(path,
                $"too large: header says {describe(dims)} ({product} bytes), over the {MaxPayloadBytes}-byte limit");
        }
        return (long)product;
    }

    private static byte[] ReadRawPayload(FileStream file, string path, long bytes, long available, string what)
    {
        if (available < bytes)
            throw Truncated(path, what, bytes, $"the file holds {Math.Max(available, 0)}");
        if (available > bytes)
            throw new IdxFormatException(path, $"trailing bytes after the data ({available - bytes} extra)");
        var data = new byte[bytes];
        int n = file.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (n < data.Length)
            throw Truncated(path, what, bytes, $"only {n} could be read");
        return data;
    }

    private static byte[] ReadGzipPayload(Stream stream, string path, long bytes, string what)
    {
        var chunks = new List<byte[]>();
        long total = 0;
        while (total < bytes)
        {
            var chunk = new byte[Math.Min(ChunkBytes, bytes - total)];
            int n = stream.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
            total += n;
            if (n < chunk.Length)
                throw Truncated(path, what, bytes, $"the decompressed data holds {total}");
            chunks.Add(chunk);
        }
        if (stream.ReadByte() >= 0)
            throw new IdxFormatException(path, "trailing bytes after the data");

        if (chunks.Count == 1)
            return chunks[0];
        // Assembled only now that the header's size is proven by real data.
        var data = new byte[bytes];
        long offset = 0;
        foreach (var chunk in chunks)
        {
            chunk.CopyTo(data, offset);
            offset += chunk.Length;
        }
        return data;
    }

    private static IdxFormatException Truncated(string path, string what, long bytes, string actual) =>
        new(path, $"truncated: header says {what} ({bytes} bytes) but {actual}");
}
