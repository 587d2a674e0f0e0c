using System.IO.Compression;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Data;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Robustness;

/// <summary>
/// Every reader of untrusted files is fuzzed with <see cref="FileFuzzer"/>: only its typed one-line
/// error, no hang, no crash, no allocation beyond the file's real size. A new reader (e.g. a sparse
/// model format) needs one more <see cref="FuzzTarget"/> here.
/// </summary>
public class HostileInputTests
{
    [Fact]
    public async Task Idx_reader_survives_damaged_raw_and_gzip_files()
    {
        using var dir = new TestDirectory();
        SyntheticIdx.Write(dir.Path, trainCount: 60, testCount: 10);
        var imagesGz = File.ReadAllBytes(dir.File("train-images-idx3-ubyte.gz"));
        var labelsGz = File.ReadAllBytes(dir.File("train-labels-idx1-ubyte.gz"));
        var images = Gunzip(imagesGz);
        var labels = Gunzip(labelsGz);

        var rawImages = new FuzzTarget("-images-idx3-ubyte", images, p => IdxReader.ReadImages(p), typeof(IdxFormatException), [4, 8, 12], BigEndian: true);
        var rawLabels = new FuzzTarget("-labels-idx1-ubyte", labels, p => IdxReader.ReadLabels(p), typeof(IdxFormatException), [4], BigEndian: true);
        // Inside gzip the sizes are forged in the decompressed header, then compressed again.
        var forgedInside = FileFuzzer.Mutations(rawImages with { Reseal = Gzip }, seed: 2, randomCases: 0)
            .Where(m => m.Label.Contains("checksum fixed")).ToList();
        var gzipImages = new FuzzTarget("-images-idx3-ubyte.gz", imagesGz, p => IdxReader.ReadImages(p), typeof(IdxFormatException), [], Extra: forgedInside);

        Assert.True(await FileFuzzer.RunAsync(rawImages, dir.Path) > 50);
        Assert.True(await FileFuzzer.RunAsync(rawLabels, dir.Path) > 20);
        Assert.True(await FileFuzzer.RunAsync(gzipImages, dir.Path) > 50);
    }

    [Fact]
    public async Task Model_file_reader_survives_damaged_files()
    {
        using var dir = new TestDirectory();
        manual_seed(1);
        using var model = new LeNet300();
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        var path = dir.File("valid.topiary");
        ModelFile.Save(path, "lenet300", 28, 10, model, masks);
        var valid = File.ReadAllBytes(path);

        var target = new FuzzTarget(".topiary", valid, p => ModelFile.Load(p), typeof(ModelFileException), [8, 12], Reseal: ResealHeaderCrc,
            Extra:
            [
                ("shape forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[2147483648,2147483648]", ResealHeaderCrc)),
                ("shape forged negative", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[-300,784]", ResealHeaderCrc)),
                ("dtype forged", FileFuzzer.EditJsonHeader(valid, 12, "\"float32\"", "\"complex64\"", ResealHeaderCrc)),
                ("dtype widened", FileFuzzer.EditJsonHeader(valid, 12, "\"float32\"", "\"float64\"", ResealHeaderCrc)),
                ("mask forged to a byte per element", FileFuzzer.EditJsonHeader(valid, 12, "\"bit\"", "\"uint8\"", ResealHeaderCrc)),
                ("image size forged to 2^31-1", FileFuzzer.EditJsonHeader(valid, 12, "\"image_size\":28", "\"image_size\":2147483647", ResealHeaderCrc)),
                ("classes forged to 2^31", FileFuzzer.EditJsonHeader(valid, 12, "\"classes\":10", "\"classes\":2147483648", ResealHeaderCrc)),
                ("architecture swapped", FileFuzzer.EditJsonHeader(valid, 12, "\"lenet300\"", "\"lenet5\"", ResealHeaderCrc)),
                ("architecture unknown", FileFuzzer.EditJsonHeader(valid, 12, "\"lenet300\"", "\"smallcnn\"", ResealHeaderCrc)),
            ]);
        Assert.True(await FileFuzzer.RunAsync(target, dir.Path, randomCases: 40) > 60);

        // The version-1 reader, on a file written before version 2.
        var v1 = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Serialization", "Data", "lenet5-v1.topiary"));
        var legacy = new FuzzTarget(".topiary", v1, p => ModelFile.Load(p), typeof(ModelFileException), [8, 12], Reseal: ResealCrc,
            Extra:
            [
                ("shape forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(v1, 12, "[20,1,5,5]", "[2147483648,2147483648]", ResealCrc)),
                ("masked flag forged", FileFuzzer.EditJsonHeader(v1, 12, "\"masked\":true", "\"masked\":7", ResealCrc)),
            ]);
        Assert.True(await FileFuzzer.RunAsync(legacy, dir.Path, randomCases: 20) > 30);
    }

    [Fact]
    public async Task Sparse_model_file_reader_survives_damaged_files()
    {
        using var dir = new TestDirectory();
        var path = dir.File("valid.tsparse");
        Topiary.Inference.SparseModelFile.Save(path, Topiary.Tests.Deployment.PrunedNetworks.Network("lenet300", 0.95), "lenet300");
        var valid = File.ReadAllBytes(path);
        var header = System.Text.Encoding.UTF8.GetString(valid, 16, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(valid.AsSpan(12)));
        Assert.Contains("\"input\":[1,28,28]", header);
        Assert.Contains("\"in\":784,\"out\":300", header);

        var target = new FuzzTarget(".tsparse", valid, p => Topiary.Inference.SparseModelFile.Load(p), typeof(ModelFileException), [8, 12], Reseal: ResealCrc,
            Extra:
            [
                ("input forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(valid, 12, "\"input\":[1,28,28]", "\"input\":[1,2147483647,2147483647]", ResealCrc)),
                ("input forged negative", FileFuzzer.EditJsonHeader(valid, 12, "\"input\":[1,28,28]", "\"input\":[1,-28,28]", ResealCrc)),
                ("layer forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(valid, 12, "\"in\":784,\"out\":300", "\"in\":2147483647,\"out\":2147483647", ResealCrc)),
                ("layer forged to 2^24 x 2^24", FileFuzzer.EditJsonHeader(valid, 12, "\"in\":784,\"out\":300", "\"in\":16777216,\"out\":16777216", ResealCrc)),
            ]);
        Assert.True(await FileFuzzer.RunAsync(target, dir.Path, randomCases: 40) > 50);
    }

    [Fact]
    public async Task Checkpoint_reader_and_resume_survive_damaged_files()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        var options = new PruningOptions { DenseEpochs = 0, Epochs = 0, EvalEvery = 5, Floor = 0.5, BatchSize = 50, Seed = 3 };
        manual_seed(1);
        using (var model = new LeNet300())
            PruningMethods.Loop(model, new ImageClassificationTask(data), options, checkpoints: new CheckpointOptions { Directory = dir.Path }).Run();
        var valid = File.ReadAllBytes(dir.File(CheckpointOptions.LastFileName));

        // Reading is not enough: the state must also be accepted, or refused, by a resuming run.
        void ReadAndResume(string path)
        {
            using var checkpoint = TrainingCheckpoint.Load(path);
            manual_seed(2);
            using var model = new LeNet300();
            PruningMethods.Loop(model, new ImageClassificationTask(data), options, checkpoints: new CheckpointOptions { ResumeFrom = checkpoint }).Run();
        }

        var target = new FuzzTarget(".ckpt", valid, ReadAndResume, typeof(CheckpointException), [8, 12], Reseal: ResealHeaderCrc,
            Extra:
            [
                ("dtype forged", FileFuzzer.EditJsonHeader(valid, 12, "\"float32\"", "\"int64\"", ResealHeaderCrc)),
                ("bool forged over float bytes", FileFuzzer.EditJsonHeader(valid, 12, "\"float32\",\"shape\":[300]", "\"bool\",\"shape\":[1200]", ResealHeaderCrc)),
                ("tensor shape forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[2147483648,2147483648]", ResealHeaderCrc)),
                ("tensor shape forged to 2^16 cubed", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[65536,65536,65536]", ResealHeaderCrc)),
                ("tensor shape forged negative", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[-1,-235200]", ResealHeaderCrc)),
                ("tensor shape transposed", FileFuzzer.EditJsonHeader(valid, 12, "[300,784]", "[784,300]", ResealHeaderCrc)),
                ("steps per epoch forged", FileFuzzer.EditJsonHeader(valid, 12, "\"steps_per_epoch\":22", "\"steps_per_epoch\":2147483647", ResealHeaderCrc)),
                ("loss count forged negative", FileFuzzer.EditJsonHeader(valid, 12, "\"loss_count\":0", "\"loss_count\":-2147483648", ResealHeaderCrc)),
                ("learning rate forged to zero", FileFuzzer.EditJsonHeader(valid, 12, "\"learning_rate\":0.001", "\"learning_rate\":0", ResealHeaderCrc)),
                ("trajectory forged to null", FileFuzzer.EditJsonHeader(valid, 12, "\"trajectory\":[", "\"trajectory\":null,\"x\":[", ResealHeaderCrc)),
            ]);
        Assert.True(await FileFuzzer.RunAsync(target, dir.Path, randomCases: 25) > 40);

        // The version-1 reader, on a checkpoint written before version 2.
        var v1 = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Checkpoints", "Data", "checkpoint-v1.ckpt"));
        var legacy = new FuzzTarget(".ckpt", v1, p => TrainingCheckpoint.Load(p).Dispose(), typeof(CheckpointException), [8, 12], Reseal: ResealCrc,
            Extra:
            [
                ("tensor shape forged to 2^31 x 2^31", FileFuzzer.EditJsonHeader(v1, 12, "[10,16]", "[2147483648,2147483648]", ResealCrc)),
                ("tensor shape forged negative", FileFuzzer.EditJsonHeader(v1, 12, "[10,16]", "[-10,-16]", ResealCrc)),
            ]);
        Assert.True(await FileFuzzer.RunAsync(legacy, dir.Path, randomCases: 20) > 30);
    }

    [Fact]
    public async Task State_dict_readers_survive_damaged_files()
    {
        using var dir = new TestDirectory();
        static void Read(string path)
        {
            foreach (var t in StateDictImport.Read(path).Values) t.Dispose();
        }

        // A file real PyTorch wrote (memo, views, shared storages, every dtype), and hand-built views that lie.
        var pt = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Serialization", "Data", "torch-1.13", "odd.pt"));
        byte[] ForgedPt(long elements, StateDictFiles.View view)
        {
            var path = dir.File("forged.pt");
            StateDictFiles.WritePt(path, [new StateDictFiles.Storage("FloatStorage", elements, new byte[16])], [view]);
            return File.ReadAllBytes(path);
        }
        // 18 and 22: the sizes in the first local header of the zip.
        var ptTarget = new FuzzTarget(".pt", pt, Read, typeof(StateDictException), [18, 22],
            Extra:
            [
                ("view past its storage", ForgedPt(4, new("w", 0, 2, [3], [1]))),
                ("view strided past its storage", ForgedPt(4, new("w", 0, 0, [2, 2], [3, 1]))),
                ("view expanded to 2^31 x 2^31 by zero strides", ForgedPt(4, new("w", 0, 0, [1L << 31, 1L << 31], [0, 0]))),
                ("view with a negative stride", ForgedPt(4, new("w", 0, 3, [4], [-1]))),
                ("view with a negative offset", ForgedPt(4, new("w", 0, -1, [1], [1]))),
                ("storage forged to 2^40 elements", ForgedPt(1L << 40, new("w", 0, 0, [4], [1]))),
                ("storage forged to 2^62 elements", ForgedPt(1L << 62, new("w", 0, 0, [1L << 31, 1L << 31], [1L << 31, 1]))),
            ]);
        Assert.True(await FileFuzzer.RunAsync(ptTarget, dir.Path, randomCases: 60) > 60);

        manual_seed(5);
        var safetensors = dir.File("valid.safetensors");
        StateDictFiles.WriteSafetensors(safetensors, [("w", "F32", randn(4, 3)), ("ids", "I64", tensor(new long[] { 1, 2 })), ("on", "BOOL", tensor(new[] { true }))]);
        var valid = File.ReadAllBytes(safetensors);
        byte[] Forged(string header, byte fill = 0)
        {
            StateDictFiles.WriteSafetensors(safetensors, header, Enumerable.Repeat(fill, 80).ToArray());
            return File.ReadAllBytes(safetensors);
        }
        var stTarget = new FuzzTarget(".safetensors", valid, Read, typeof(StateDictException), [0, 4],
            Extra:
            [
                ("shape forged to 2^31 x 2^31", Forged("""{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,48]}}""")),
                ("offsets forged to 2^62", Forged("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[4611686018427387904,4611686018427387920]}}""")),
                ("offsets reversed", Forged("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}}""")),
                ("offsets shorter than the shape", Forged("""{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,16]}}""")),
                ("shape negative", Forged("""{"w":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}}""")),
                ("dtype unknown", Forged("""{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""")),
                ("bool bytes other than 0 and 1", Forged("""{"w":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}""", fill: 2)),
                ("not an object", Forged("""{"w":[1,2,3]}""")),
            ]);
        Assert.True(await FileFuzzer.RunAsync(stTarget, dir.Path, randomCases: 60) > 60);
    }

    // Version 2: the CRC-32 after the header covers magic, version, length and header (each tensor has its own).
    private static byte[] ResealHeaderCrc(byte[] bytes)
    {
        if (bytes.Length < 16) return bytes;
        var end = 16L + System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        if (end + 4 > bytes.Length) return bytes;
        var sealed_ = (byte[])bytes.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(sealed_.AsSpan((int)end), Crc32.Compute(sealed_.AsSpan(0, (int)end)));
        return sealed_;
    }

    // Version 1: the last four bytes are the CRC-32 of everything before them.
    private static byte[] ResealCrc(byte[] bytes)
    {
        if (bytes.Length < 4) return bytes;
        var sealed_ = (byte[])bytes.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(sealed_.AsSpan(sealed_.Length - 4), Crc32.Compute(sealed_.AsSpan(0, sealed_.Length - 4)));
        return sealed_;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(raw);
        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] compressed)
    {
        using var input = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
