using System.Buffers.Binary;
using System.IO.Compression;
using Topiary.Data;

namespace Topiary.Tests.Data;

/// <summary>Reading IDX files: round trips, every validation error, and resistance to forged headers.</summary>
public sealed class IdxReaderTests : IDisposable
{
    private const int ImagesMagic = 0x00000803;
    private const int LabelsMagic = 0x00000801;
    private const string FashionMnistDir = "/usr/share/datasets/fashion-mnist";

    private readonly string _dir = Directory.CreateTempSubdirectory("topiary-idx-").FullName;

    /// <summary>Removes the per-test temporary directory.</summary>
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A valid raw or gzip pair comes back byte for byte.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadPair_RoundTripsExactPixelsAndLabels(bool gzip)
    {
        byte[] pixels = Pattern(3 * 4 * 5);
        byte[] labels = [7, 0, 9];
        string img = Write("img", Idx(ImagesMagic, [3, 4, 5], pixels), gzip);
        string lbl = Write("lbl", Idx(LabelsMagic, [3], labels), gzip);

        var pair = IdxReader.ReadPair(img, lbl);

        Assert.Equal((3, 4, 5), (pair.Images.Count, pair.Images.Rows, pair.Images.Columns));
        Assert.Equal(pixels, pair.Images.Pixels);
        Assert.Equal(labels, pair.Labels);
    }

    /// <summary>A gzip payload larger than one read chunk is reassembled in order.</summary>
    [Fact]
    public void ReadImages_GzipPayloadSpanningSeveralChunks_RoundTrips()
    {
        // 5 MiB of pixels crosses the reader's internal chunk boundary.
        byte[] pixels = Pattern(80 * 256 * 256);
        string img = Write("big", Idx(ImagesMagic, [80, 256, 256], pixels), gzip: true);

        Assert.Equal(pixels, IdxReader.ReadImages(img).Pixels);
    }

    /// <summary>Gzip is recognised by its magic bytes even without a .gz suffix.</summary>
    [Fact]
    public void ReadImages_GzipDetectedByMagicNotExtension()
    {
        byte[] pixels = Pattern(2 * 3 * 3);
        string path = Path.Combine(_dir, "no-extension");
        File.WriteAllBytes(path, Gzip(Idx(ImagesMagic, [2, 3, 3], pixels)));

        Assert.Equal(pixels, IdxReader.ReadImages(path).Pixels);
    }

    /// <summary>Fewer data bytes than the header announces is reported as truncation.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadImages_Truncated_Throws(bool gzip)
    {
        string img = Write("img", Idx(ImagesMagic, [10, 28, 28], Pattern(1234)), gzip);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(img));

        AssertNames(ex, img, "truncated");
        Assert.Contains("10 images of 28x28 (7840 bytes)", ex.Message);
        Assert.Contains("1234", ex.Message);
    }

    /// <summary>A file ending inside the header is reported as truncated.</summary>
    [Fact]
    public void ReadLabels_TruncatedHeader_Throws()
    {
        string lbl = Write("lbl", [0, 0, 8, 1, 0, 0], gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(lbl));

        AssertNames(ex, lbl, "truncated");
    }

    /// <summary>Data beyond what the header announces is rejected.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadImages_TrailingBytes_Throws(bool gzip)
    {
        string img = Write("img", Idx(ImagesMagic, [2, 2, 2], Pattern(9)), gzip);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(img));

        AssertNames(ex, img, "trailing bytes");
    }

    /// <summary>A labels file passed as images is rejected by its magic number.</summary>
    [Fact]
    public void ReadImages_WrongMagic_Throws()
    {
        string lbl = Write("lbl", Idx(LabelsMagic, [3], [1, 2, 3]), gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(lbl));

        AssertNames(ex, lbl, "wrong magic number 0x00000801, expected 0x00000803");
    }

    /// <summary>A type code other than unsigned byte is rejected.</summary>
    [Fact]
    public void ReadLabels_WrongTypeCode_Throws()
    {
        string lbl = Write("lbl", Idx(0x00000D01, [1], [0, 0, 0, 0]), gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(lbl));

        AssertNames(ex, lbl, "wrong magic number 0x00000D01");
    }

    /// <summary>Zero, negative and oversized dimensions are rejected.</summary>
    [Theory]
    [InlineData(0, 0, "dimension 0 is 0")]
    [InlineData(2, 0, "dimension 2 is 0")]
    [InlineData(1, -3, "dimension 1 is -3")]
    [InlineData(1, 5000, "dimension 1 is 5000")]
    public void ReadImages_BadDimension_Throws(int index, int value, string reason)
    {
        int[] dims = [1, 2, 2];
        dims[index] = value;
        string img = Write("img", Idx(ImagesMagic, dims, Pattern(4)), gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(img));

        AssertNames(ex, img, reason);
    }

    /// <summary>A label at or above the class count is reported with its index.</summary>
    [Fact]
    public void ReadLabels_LabelOutOfRange_Throws()
    {
        string lbl = Write("lbl", Idx(LabelsMagic, [7], [0, 1, 2, 3, 4, 12, 5]), gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(lbl));

        AssertNames(ex, lbl, "label 12 at index 5 is outside 0..9");
    }

    /// <summary>The class count bounds the labels.</summary>
    [Fact]
    public void ReadLabels_ClassCountIsHonoured()
    {
        string lbl = Write("lbl", Idx(LabelsMagic, [3], [0, 2, 1]), gzip: false);

        Assert.Equal(new byte[] { 0, 2, 1 }, IdxReader.ReadLabels(lbl, classCount: 3));
        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(lbl, classCount: 2));
        AssertNames(ex, lbl, "label 2 at index 1 is outside 0..1");
    }

    /// <summary>Image and label counts that disagree are reported on the images file, naming both.</summary>
    [Fact]
    public void ReadPair_CountMismatch_ThrowsNamingBothFiles()
    {
        string img = Write("img", Idx(ImagesMagic, [3, 2, 2], Pattern(12)), gzip: false);
        string lbl = Write("lbl", Idx(LabelsMagic, [2], [1, 2]), gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadPair(img, lbl));

        Assert.Equal(img, ex.FilePath);
        AssertNames(ex, img, "holds 3 images but");
        Assert.Contains(lbl + " holds 2 labels", ex.Message);
    }

    /// <summary>A header claiming 2^31-1 items fails without allocating for them.</summary>
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void ForgedHeaderCount_FailsFastWithoutLargeAllocation(bool gzip, bool images)
    {
        // 2^31-1 items: any allocation trusting the header would be gigabytes.
        byte[] content = images
            ? Idx(ImagesMagic, [int.MaxValue, 28, 28], Pattern(100))
            : Idx(LabelsMagic, [int.MaxValue], new byte[100]);
        string path = Write("forged", content, gzip);

        var ex = AssertFailsCheaply(() => { _ = images ? IdxReader.ReadImages(path).Count : IdxReader.ReadLabels(path).Length; });

        AssertNames(ex, path, "too large");
        Assert.Contains(int.MaxValue.ToString(), ex.Message);
    }

    /// <summary>A plausible but false header size fails as truncated without allocating for it.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForgedHeaderUnderSizeLimit_ReportsTruncationWithoutLargeAllocation(bool gzip)
    {
        // 1,000,000 x 28 x 28 = 784 MB passes the size limit, so only reading actual data can expose it.
        string path = Write("forged", Idx(ImagesMagic, [1_000_000, 28, 28], Pattern(5000)), gzip);

        var ex = AssertFailsCheaply(() => IdxReader.ReadImages(path));

        AssertNames(ex, path, "truncated");
        Assert.Contains("5000", ex.Message);
    }

    /// <summary>Garbage after the gzip magic is reported as corrupt gzip.</summary>
    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0x12, 0x34 })]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03 })]
    public void ReadImages_CorruptGzip_Throws(byte[] content)
    {
        string path = Write("corrupt", content, gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));

        AssertNames(ex, path, "gzip");
        Assert.DoesNotContain('\n', ex.Message);
    }

    /// <summary>A gzip stream whose CRC does not match is reported as corrupt.</summary>
    [Fact]
    public void ReadImages_GzipWithBadChecksum_Throws()
    {
        // The payload decompresses fine; only the CRC32 in the gzip trailer is wrong.
        byte[] gz = Gzip(Idx(ImagesMagic, [5, 28, 28], Pattern(5 * 28 * 28)));
        gz[^8] ^= 0xff;
        string path = Write("badcrc", gz, gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));

        AssertNames(ex, path, "corrupt gzip");
    }

    /// <summary>A gzip stream cut in half is reported as truncated.</summary>
    [Fact]
    public void ReadImages_GzipCutShort_Throws()
    {
        byte[] gz = Gzip(Idx(ImagesMagic, [50, 28, 28], Pattern(50 * 28 * 28)));
        string path = Write("cut", gz[..(gz.Length / 2)], gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));

        AssertNames(ex, path, "truncated");
    }

    /// <summary>A missing file gives exactly "path: file not found".</summary>
    [Fact]
    public void ReadLabels_MissingFile_Throws()
    {
        string path = Path.Combine(_dir, "nope-labels");

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(path));

        Assert.Equal(path, ex.FilePath);
        Assert.Equal("file not found", ex.Reason);
        Assert.Equal($"{path}: file not found", ex.Message);
    }

    /// <summary>The .gz file wins over the raw one; neither is an error.</summary>
    [Fact]
    public void ResolveFile_PrefersGz_ThenRaw_ElseThrows()
    {
        string raw = Path.Combine(_dir, "stem");
        File.WriteAllBytes(raw, [1]);
        Assert.Equal(raw, IdxReader.ResolveFile(_dir, "stem"));

        File.WriteAllBytes(raw + ".gz", [1]);
        Assert.Equal(raw + ".gz", IdxReader.ResolveFile(_dir, "stem"));

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.ResolveFile(_dir, "other"));
        AssertNames(ex, "other", "file not found (looked for other.gz and other)");
    }

    /// <summary>A directory with both raw and gzip files loads.</summary>
    [Fact]
    public void LoadDataset_ReadsMixedRawAndGzipFiles()
    {
        WriteSplit("train", count: 4, side: 3, gzip: true);
        WriteSplit("t10k", count: 2, side: 3, gzip: false);

        var ds = IdxReader.LoadDataset(_dir);

        Assert.Equal(_dir, ds.Directory);
        Assert.Equal(4, ds.Train.Images.Count);
        Assert.Equal(2, ds.Test.Labels.Length);
        Assert.Equal(Pattern(4 * 9), ds.Train.Images.Pixels);
    }

    /// <summary>Train and test images of different sizes are rejected.</summary>
    [Fact]
    public void LoadDataset_MismatchedImageSizes_Throws()
    {
        WriteSplit("train", count: 4, side: 3, gzip: false);
        WriteSplit("t10k", count: 2, side: 4, gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.LoadDataset(_dir));

        AssertNames(ex, "t10k-images-idx3-ubyte", "images are 4x4 but");
    }

    /// <summary>A missing standard file is named in the error.</summary>
    [Fact]
    public void LoadDataset_MissingFile_Throws()
    {
        WriteSplit("train", count: 4, side: 3, gzip: false);

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.LoadDataset(_dir));

        AssertNames(ex, "t10k-images-idx3-ubyte", "file not found");
    }

    /// <summary>A missing directory is an IdxFormatException, not DirectoryNotFoundException.</summary>
    [Fact]
    public void LoadDataset_MissingDirectory_Throws()
    {
        string missing = Path.Combine(_dir, "absent");

        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.LoadDataset(missing));

        AssertNames(ex, missing, "directory not found");
    }

    /// <summary>The real Fashion-MNIST files load with their known shapes and balanced labels.</summary>
    [Fact]
    public void LoadDataset_FashionMnist_WhenInstalled()
    {
        if (!Directory.Exists(FashionMnistDir))
            return;

        var ds = IdxReader.LoadDataset(FashionMnistDir);

        Assert.Equal((60000, 28, 28), (ds.Train.Images.Count, ds.Train.Images.Rows, ds.Train.Images.Columns));
        Assert.Equal((10000, 28, 28), (ds.Test.Images.Count, ds.Test.Images.Rows, ds.Test.Images.Columns));
        Assert.Equal(60000 * 784, ds.Train.Images.Pixels.Length);
        Assert.Equal(10000 * 784, ds.Test.Images.Pixels.Length);
        // Fashion-MNIST is balanced: 6000 train and 1000 test images per class.
        Assert.All(ClassCounts(ds.Train.Labels), c => Assert.Equal(6000, c));
        Assert.All(ClassCounts(ds.Test.Labels), c => Assert.Equal(1000, c));
        Assert.Contains(ds.Train.Images.Pixels, p => p == 255);
    }

    private static int[] ClassCounts(byte[] labels)
    {
        var counts = new int[10];
        foreach (byte l in labels)
        {
            Assert.InRange(l, (byte)0, (byte)9);
            counts[l]++;
        }
        return counts;
    }

    private static IdxFormatException AssertFailsCheaply(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<IdxFormatException>(read);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
        return ex;
    }

    private static void AssertNames(IdxFormatException ex, string fileName, string reasonWord)
    {
        Assert.Contains(fileName, ex.FilePath);
        Assert.Contains(fileName, ex.Message);
        Assert.Contains(reasonWord, ex.Reason);
        Assert.Contains(reasonWord, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    private void WriteSplit(string prefix, int count, int side, bool gzip)
    {
        string suffix = gzip ? ".gz" : "";
        File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-images-idx3-ubyte{suffix}"),
            MaybeGzip(Idx(ImagesMagic, [count, side, side], Pattern(count * side * side)), gzip));
        File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-labels-idx1-ubyte{suffix}"),
            MaybeGzip(Idx(LabelsMagic, [count], Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray()), gzip));
    }

    private string Write(string name, byte[] content, bool gzip)
    {
        string path = Path.Combine(_dir, gzip ? name + ".gz" : name);
        File.WriteAllBytes(path, MaybeGzip(content, gzip));
        return path;
    }

    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static byte[] MaybeGzip(byte[] content, bool gzip) => gzip ? Gzip(content) : content;

    private static byte[] Gzip(byte[] content)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest))
            gz.Write(content);
        return ms.ToArray();
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
            bytes[i] = (byte)(i * 31 + i / 7);
        return bytes;
    }
}
