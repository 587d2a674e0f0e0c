using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Reporting;
using Topiary.Training;
using Topiary.Tests.Support;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Checkpoints;

public class CheckpointFileTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Checkpoints", "Data");

    // One tensor of every dtype the format holds, with awkward shapes: a scalar, an empty one, a transposed (non-contiguous) view.
    private static Dictionary<string, Tensor> EveryDtype()
    {
        manual_seed(7);
        return new Dictionary<string, Tensor>
        {
            ["float32"] = randn(3, 5).t(),
            ["float64"] = randn(4, 2, dtype: float64),
            ["float16"] = randn(6, dtype: float16),
            ["bfloat16"] = randn(2, 3, dtype: bfloat16),
            ["int64/num_batches_tracked"] = tensor(123456789012L),
            ["int32"] = randint(-1000, 1000, [7], dtype: int32),
            ["int16"] = randint(-1000, 1000, [2, 2], dtype: int16),
            ["int8"] = randint(-128, 127, [9], dtype: int8),
            ["uint8"] = randint(0, 255, [3, 3], dtype: uint8),
            ["bool"] = randn(10).gt(0),
            ["empty"] = zeros(0, 3),
            ["nan and -0"] = tensor(new[] { float.NaN, -0f, float.PositiveInfinity }),
        };
    }

    [Fact]
    public void Every_dtype_round_trips_bit_for_bit_through_a_file_and_through_memory()
    {
        using var dir = new TestDirectory();
        var tensors = EveryDtype();
        var state = new JsonObject { ["step"] = 12, ["note"] = "é" };
        var path = dir.File("all.ckpt");
        CheckpointFile.Write(path, state, tensors);
        var fromFile = CheckpointFile.Read(path);
        var fromMemory = CheckpointFile.Parse("in memory", CheckpointFile.Serialize(state, tensors));
        foreach (var (read, how) in new[] { (fromFile, "file"), (fromMemory, "memory") })
        {
            Assert.Equal(state.ToJsonString(), read.State.ToJsonString());
            Assert.Equal(tensors.Keys, read.Tensors.Keys);
            foreach (var (name, t) in tensors) Assert.True(TensorAssert.BitEqual(t, read.Tensors[name]), $"{name} through {how}");
        }
        Assert.Equal(ScalarType.Int64, fromFile.Tensors["int64/num_batches_tracked"].dtype);
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }

    [Fact]
    public void A_version_1_checkpoint_written_before_still_loads_to_the_same_values()
    {
        var path = Path.Combine(Fixtures, "checkpoint-v1.ckpt");
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, "checkpoint-v1.expected.json")))!.AsObject();
        using var checkpoint = TrainingCheckpoint.Load(path);
        Assert.Equal(expected["step"]!.GetValue<long>(), checkpoint.State.Step);
        Assert.Equal(expected["learning_rate"]!.GetValue<double>(), checkpoint.State.LearningRate);
        Assert.Equal(expected["trajectory_points"]!.GetValue<int>(), checkpoint.State.Trajectory.Count);
        var tensors = expected["tensors"]!.AsObject();
        Assert.Equal(tensors.Select(t => t.Key), checkpoint.Tensors.Keys);
        foreach (var (name, entry) in tensors)
        {
            var t = checkpoint.Tensors[name];
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(entry!["shape"]!.AsArray().Select(d => d!.GetValue<long>()), t.shape);
            Assert.Equal(entry["sha256_float32"]!.GetValue<string>(), Sha256(t));
        }

        // Written again, it is a version-2 file with the same content.
        using var dir = new TestDirectory();
        var again = dir.File("again.ckpt");
        CheckpointFile.Write(again, new JsonObject(), checkpoint.Tensors);
        Assert.Equal(2, BitConverter.ToInt32(File.ReadAllBytes(again), 8));
        var reread = CheckpointFile.Read(again).Tensors;
        foreach (var (name, t) in checkpoint.Tensors) Assert.True(TensorAssert.BitEqual(t, reread[name]), name);
    }

    [Fact]
    public void A_version_1_checkpoint_resumes_the_run_that_wrote_it()
    {
        using var checkpoint = TrainingCheckpoint.Load(Path.Combine(Fixtures, "checkpoint-v1.ckpt"));
        TinyRunResume.AssertEndsAsRecorded(checkpoint);
    }

    [Fact]
    public void Training_checkpoints_keep_each_tensor_in_its_dtype_in_memory()
    {
        using var v1 = TrainingCheckpoint.Load(Path.Combine(Fixtures, "checkpoint-v1.ckpt"));
        var tensors = v1.Tensors.ToDictionary(t => t.Key, t => t.Value.clone());
        tensors["regularizer/count"] = tensor(new long[] { 3, 4 });
        tensors["regularizer/scale"] = tensor(0.1, float64);
        using var checkpoint = new TrainingCheckpoint(v1.State, tensors);
        using var decoded = TrainingCheckpoint.Decode("memory", checkpoint.Encode());
        Assert.Equal(JsonSerializer.Serialize(v1.State, ReportJson.Options), JsonSerializer.Serialize(decoded.State, ReportJson.Options));
        foreach (var (name, t) in tensors) Assert.True(TensorAssert.BitEqual(t, decoded.Tensors[name]), name);
    }

    [Fact]
    public void A_100_million_parameter_checkpoint_streams_through_a_file_bit_for_bit_in_little_managed_memory()
    {
        using var dir = new TestDirectory();
        manual_seed(3);
        // 3 × 4096 × 8192 float32 = 100.7 M parameters (403 MB): a whole-file or whole-tensor buffer would show in the
        // allocations below.
        var a = randn(4096, 8192);
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = a,
            // Derived rather than drawn: as good a test, a third of the time.
            ["b"] = a.neg().roll(1),
            ["c"] = a.mul(3).roll(2),
            ["ids"] = arange(1L << 20, dtype: int64),
            ["bn.num_batches_tracked"] = tensor(41L),
        };
        try
        {
            var path = dir.File("big.ckpt");
            var before = GC.GetAllocatedBytesForCurrentThread();
            CheckpointFile.Write(path, new JsonObject { ["parameters"] = 100_663_296 }, tensors);
            var written = GC.GetAllocatedBytesForCurrentThread() - before;
            var length = new FileInfo(path).Length;
            Assert.True(length > 400_000_000, $"the file has {length} bytes");

            before = GC.GetAllocatedBytesForCurrentThread();
            var (_, read) = CheckpointFile.Read(path);
            var readBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            File.Delete(path);
            try
            {
                // Everything managed together stays under 1% of the file (about 100 kB when measured): no copy of a tensor.
                Assert.True(written < 4 << 20, $"writing allocated {written} managed bytes for a file of {length}");
                Assert.True(readBytes < 4 << 20, $"reading allocated {readBytes} managed bytes for a file of {length}");
                foreach (var (name, t) in tensors) Assert.True(TensorAssert.BitEqual(t, read[name]), name);
            }
            finally
            {
                foreach (var t in read.Values) t.Dispose();
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void A_damaged_tensor_is_named_and_a_damaged_header_is_refused_before_anything_is_read()
    {
        using var dir = new TestDirectory();
        var path = dir.File("c.ckpt");
        CheckpointFile.Write(path, new JsonObject { ["note"] = "zz" }, new Dictionary<string, Tensor> { ["first"] = ones(100), ["second"] = zeros(100) });
        var bytes = File.ReadAllBytes(path);

        var tensorDamaged = (byte[])bytes.Clone();
        tensorDamaged[^10] ^= 1;
        File.WriteAllBytes(path, tensorDamaged);
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Equal($"{path}: tensor 'second' is damaged (checksum mismatch)", error.Message);

        var headerDamaged = (byte[])bytes.Clone();
        headerDamaged[20] ^= 1;
        File.WriteAllBytes(path, headerDamaged);
        Assert.Equal($"{path}: the header is damaged (checksum mismatch)", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);

        // Invalid UTF-8 inside a string, under a valid checksum: System.Text.Json would throw only when the string is read.
        var badText = (byte[])bytes.Clone();
        var note = bytes.AsSpan().IndexOf("\"zz\""u8);
        badText[note + 1] = 0xDF;
        var headerEnd = 16 + BitConverter.ToInt32(bytes, 12);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(badText.AsSpan(headerEnd), Topiary.Serialization.Crc32.Compute(badText.AsSpan(0, headerEnd)));
        File.WriteAllBytes(path, badText);
        Assert.StartsWith($"{path}: header is not valid JSON", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);

        File.WriteAllBytes(path, bytes[..^1]);
        Assert.StartsWith($"{path}: tensor 'second' of shape [100] is larger than the file", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);
        File.WriteAllBytes(path, [.. bytes, 0]);
        Assert.Contains("size mismatch", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(dir.File("none.ckpt"))).Message);
    }

    private static string Sha256(Tensor t)
    {
        using var cpu = t.to(float32).contiguous();
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan())));
    }
}
