using System.Buffers.Binary;
using Topiary.Inference;
using Topiary.Quantization;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

public class QuantizedSparseFileTests
{
    [Theory]
    [InlineData("lenet5", 0.98, 8, QuantizationGranularity.PerChannel)]
    [InlineData("lenet5", 0.6, 4, QuantizationGranularity.PerChannel)]
    [InlineData("lenet300", 0.95, 8, QuantizationGranularity.PerTensor)]
    public void Loading_gives_the_fake_quantized_network_exactly(string architecture, double sparsity, int bits, QuantizationGranularity granularity)
    {
        using var dir = new TestDirectory();
        var scheme = new QuantizationScheme(bits, granularity);
        var network = PrunedNetworks.Network(architecture, sparsity);
        var path = dir.File("m.tsparse");
        SparseModelFile.SaveQuantized(path, network, architecture, scheme);
        var loaded = SparseModelFile.Load(path);

        Assert.Equal(bits, loaded.WeightBits);
        var expected = WeightQuantizer.Dequantized(network, scheme).Parameters().ToList();
        var actual = loaded.Network.Parameters().ToList();
        Assert.Equal(expected.Select(p => p.Name), actual.Select(p => p.Name));
        for (var t = 0; t < expected.Count; t++) Assert.Equal(expected[t].Values, actual[t].Values);
        // Biases are stored as float32, unchanged.
        Assert.Equal(network.Parameters().Where(p => p.Name.EndsWith(".bias")).SelectMany(p => p.Values),
            actual.Where(p => p.Name.EndsWith(".bias")).SelectMany(p => p.Values));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }

    [Fact]
    public void Sparse_inference_runs_the_loaded_int8_file_as_the_fake_quantized_network()
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network("lenet5", 0.98);
        var path = dir.File("m.tsparse");
        SparseModelFile.SaveQuantized(path, network, "lenet5", QuantizationScheme.Int8);
        using var fromFile = new SparseInferenceModel(SparseModelFile.Load(path).Network);
        using var reference = new SparseInferenceModel(WeightQuantizer.Dequantized(network, QuantizationScheme.Int8));
        using var x = PrunedNetworks.Images(6);
        using var a = fromFile.Forward(x);
        using var b = reference.Forward(x);
        Assert.Equal(b.data<float>().ToArray(), a.data<float>().ToArray());
    }

    [Fact]
    public void At_two_percent_the_int8_file_is_at_most_half_the_float32_file()
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network("lenet5", 0.98);
        string floatPath = dir.File("f.tsparse"), intPath = dir.File("i.tsparse");
        SparseModelFile.Save(floatPath, network, "lenet5");
        var stored = SparseModelFile.SaveQuantized(intPath, network, "lenet5", QuantizationScheme.Int8);
        var ratio = (double)new FileInfo(intPath).Length / new FileInfo(floatPath).Length;
        Assert.True(ratio <= 0.5, $"int8 file is {ratio:P1} of the float32 file");
        Assert.Equal(new FileInfo(intPath).Length - stored.Sum(t => t.Bytes), HeaderAndFraming(intPath));
    }

    [Fact]
    public void A_damaged_scale_or_level_is_reported_in_one_line()
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network("lenet300", 0.9);
        var path = dir.File("m.tsparse");
        SparseModelFile.SaveQuantized(path, network, "lenet300", new QuantizationScheme(4));
        var bytes = File.ReadAllBytes(path);
        var payloadStart = 16 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));

        var negativeScale = (byte[])bytes.Clone();
        BinaryPrimitives.WriteSingleLittleEndian(negativeScale.AsSpan(payloadStart), -1f);
        var e = Assert.Throws<ModelFileException>(() => SparseModelFile.Load(Rewritten(dir, "scale.tsparse", negativeScale)));
        Assert.Contains("scale 0", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // fc1's payload starts with its scales, then its positions, then its int4 levels two to a byte. Set the last byte
        // of fc1's payload to two nibbles of −8, outside the symmetric 4-bit grid (±7).
        var firstTensorBytes = SparseModelFile.Load(path).Tensors[0].Bytes;
        var badLevel = (byte[])bytes.Clone();
        badLevel[payloadStart + firstTensorBytes - 1] = 0x88;
        e = Assert.Throws<ModelFileException>(() => SparseModelFile.Load(Rewritten(dir, "level.tsparse", badLevel)));
        Assert.Contains("outside the 4-bit grid", e.Message);
    }

    private static long HeaderAndFraming(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return 16 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)) + 4;
    }

    // Rewrites the checksum so that the structural check, not the CRC, must catch the damage.
    private static string Rewritten(TestDirectory dir, string name, byte[] bytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Topiary.Serialization.Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}

public class GapLayoutTests
{
    [Fact]
    public void Gap_coded_rows_come_back_exactly_with_gaps_of_255_and_more()
    {
        using var dir = new TestDirectory();
        // One 1×1200 linear layer: non-zeros at columns 0, 254, 255, 510, 1020, 1199 (gaps 1, 254, 1, 255, 510, 179).
        var weight = new float[3 * 1200];
        foreach (var c in new[] { 0, 254, 255, 510, 1020, 1199 }) weight[c] = 0.5f + c / 10000f;
        weight[1200 + 7] = -1f; // row 1: one entry; row 2 stays empty
        var network = new SequentialNetwork(1, 1, 1200, [new FlattenLayer(), new LinearLayer("fc", 1200, 3, weight, [0.1f, 0f, -0.2f])]);
        var path = dir.File("g.tsparse");
        var stored = SparseModelFile.SaveQuantized(path, network, null, QuantizationScheme.Int8);
        Assert.Equal(TensorLayout.Gaps, stored[0].Layout);
        // 3 row counts (uint16) + gap bytes 1+1+1+2+3+1 + 1 = 10, then 7 levels; 2 scales (row 2 keeps no level).
        Assert.Equal(3 * 2 + 10, stored[0].PositionBytes);
        Assert.Equal(2 * 4 + 3 * 2 + 10 + 7, stored[0].Bytes);
        var loaded = SparseModelFile.Load(path);
        Assert.Equal(WeightQuantizer.Dequantized(network, QuantizationScheme.Int8).Parameters().SelectMany(p => p.Values), loaded.Network.Parameters().SelectMany(p => p.Values));
    }

    [Fact]
    public void A_gap_past_the_row_is_reported_in_one_line()
    {
        using var dir = new TestDirectory();
        var weight = new float[2 * 300];
        weight[5] = 1f;
        weight[300 + 290] = 2f;
        var network = new SequentialNetwork(1, 1, 300, [new FlattenLayer(), new LinearLayer("fc", 300, 2, weight, [0f, 0f])]);
        var path = dir.File("g.tsparse");
        var stored = SparseModelFile.SaveQuantized(path, network, null, QuantizationScheme.Int8);
        Assert.Equal(TensorLayout.Gaps, stored[0].Layout);
        var bytes = File.ReadAllBytes(path);
        var payload = 16 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        // Scales (2 × 4), counts (2 × 2), then the gaps: row 0's [6], row 1's [255, 36] (column 290); 36 → 200 leads to 454.
        Assert.Equal(new byte[] { 6, 255, 36 }, bytes.AsSpan(payload + 8 + 4, 3).ToArray());
        bytes[payload + 8 + 4 + 2] = 200;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Topiary.Serialization.Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => SparseModelFile.Load(path));
        Assert.Contains("leads past column 299", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

public class Int4PackingTests
{
    [Fact]
    public void Int4_levels_take_half_a_byte_each_and_come_back_with_their_signs()
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network("lenet300", 0.9);
        string path8 = dir.File("m8.tsparse"), path4 = dir.File("m4.tsparse");
        var eight = SparseModelFile.SaveQuantized(path8, network, "lenet300", new QuantizationScheme(8));
        var four = SparseModelFile.SaveQuantized(path4, network, "lenet300", new QuantizationScheme(4));
        for (var t = 0; t < eight.Count; t += 2) // the weights; biases are float32 in both
        {
            var values8 = eight[t].Bytes - eight[t].PositionBytes;
            var values4 = four[t].Bytes - four[t].PositionBytes;
            var scales = values8 - eight[t].Nonzero;
            Assert.Equal(scales + (four[t].Nonzero + 1) / 2, values4);
        }
        var loaded = SparseModelFile.Load(path4);
        Assert.Equal(4, loaded.WeightBits);
        var expected = WeightQuantizer.Dequantized(network, new QuantizationScheme(4)).Parameters().SelectMany(p => p.Values).ToArray();
        Assert.Equal(expected, loaded.Network.Parameters().SelectMany(p => p.Values).ToArray());
        Assert.Contains(expected, v => v < 0);
    }
}
