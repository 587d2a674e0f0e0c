using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Topiary.Inference;
using Topiary.Serialization;
using Topiary.Tests.Support;
using Topiary.Models;

namespace Topiary.Tests.Deployment;

public class SparseModelFileTests
{
    [Theory]
    [InlineData("lenet5", 0.0)]
    [InlineData("lenet5", 0.6)]
    [InlineData("lenet5", 0.95)]
    [InlineData("lenet300", 0.95)]
    [InlineData("lenet300", 0.999)]
    [InlineData("lenet300", 1.0)]
    public void Every_value_comes_back_bit_for_bit_in_float32(string architecture, double sparsity)
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network(architecture, sparsity);
        var path = dir.File("m.tsparse");
        SparseModelFile.Save(path, network, architecture, metadata: new JsonObject { ["seed"] = 3 });
        var loaded = SparseModelFile.Load(path);

        Assert.Equal(architecture, loaded.Architecture);
        Assert.Equal(3, loaded.Metadata["seed"]!.GetValue<int>());
        Assert.False(loaded.HalfPrecision);
        var expected = network.Parameters().ToList();
        var actual = loaded.Network.Parameters().ToList();
        Assert.Equal(expected.Select(p => p.Name), actual.Select(p => p.Name));
        for (var t = 0; t < expected.Count; t++)
        {
            Assert.Equal(expected[t].Shape, actual[t].Shape);
            for (var i = 0; i < expected[t].Values.Length; i++)
            {
                var (e, a) = (expected[t].Values[i], actual[t].Values[i]);
                // Zeros are not stored, so a pruned −0.0 comes back as +0.0; everything else is bit-identical.
                Assert.True(e == 0f ? BitConverter.SingleToInt32Bits(a) == 0 : BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(e),
                    $"{expected[t].Name}[{i}]: {e} came back as {a}");
            }
        }
        using var original = PrunedNetworks.Model(architecture, sparsity);
        using var rebuilt = CatalogNetworks.ToModel(loaded.Network, architecture);
        using var x = PrunedNetworks.Images(4);
        Assert.True(TensorAssert.Same(original.forward(x), rebuilt.forward(x)));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }

    [Fact]
    public void Each_tensor_takes_the_smallest_layout()
    {
        using var dir = new TestDirectory();
        var dense = new float[64 * 100];
        var random = new Random(1);
        for (var i = 0; i < dense.Length; i++) dense[i] = (float)random.NextDouble() + 0.1f;
        var half = dense.Select((v, i) => i % 2 == 0 ? v : 0f).ToArray();
        var sparse = dense.Select((v, i) => i % 40 == 0 ? v : 0f).ToArray();
        var network = new SequentialNetwork(100, 1, 1, new NetworkLayer[]
        {
            new FlattenLayer(),
            new LinearLayer("a", 100, 64, dense, new float[64]),
            new LinearLayer("b", 64, 100, half, new float[100]),
            new LinearLayer("c", 100, 64, sparse, Enumerable.Repeat(1f, 64).ToArray()),
        });
        var stored = SparseModelFile.Save(dir.File("m.tsparse"), network, architecture: null).ToDictionary(t => t.Name);
        Assert.Equal(TensorLayout.Dense, stored["a.weight"].Layout);
        Assert.Equal(TensorLayout.Bitmask, stored["b.weight"].Layout);
        Assert.Equal(TensorLayout.Csr, stored["c.weight"].Layout);
        Assert.Equal(TensorLayout.Csr, stored["a.bias"].Layout);
        Assert.Equal(TensorLayout.Dense, stored["c.bias"].Layout);
        Assert.Equal(64 * 100 * 4, stored["a.weight"].Bytes);
        Assert.Equal(65 * 4 + 160 * (2 + 4), stored["c.weight"].Bytes);
        Assert.Null(SparseModelFile.Load(dir.File("m.tsparse")).Architecture);
    }

    [Theory]
    [InlineData("lenet300")]
    [InlineData("lenet5")]
    public void At_95_percent_sparsity_the_file_is_at_most_8_percent_of_the_dense_model_file(string architecture)
    {
        using var dir = new TestDirectory();
        using var model = PrunedNetworks.Model(architecture, 0.95);
        ModelFile.Save(dir.File("dense.topiary"), architecture, 28, 10, model, masks: null);
        var network = CatalogNetworks.FromModel(architecture, 28, model);
        SparseModelFile.Save(dir.File("sparse.tsparse"), network, architecture);
        var ratio = (double)new FileInfo(dir.File("sparse.tsparse")).Length / new FileInfo(dir.File("dense.topiary")).Length;
        Assert.True(ratio <= 0.08, $"sparse file is {ratio:P2} of the dense one");
    }

    [Fact]
    public void Half_precision_rounds_each_value_to_the_nearest_float16()
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network("lenet5", 0.9);
        SparseModelFile.Save(dir.File("h.tsparse"), network, "lenet5", half: true);
        SparseModelFile.Save(dir.File("f.tsparse"), network, "lenet5");
        var loaded = SparseModelFile.Load(dir.File("h.tsparse"));
        Assert.True(loaded.HalfPrecision);
        Assert.True(new FileInfo(dir.File("h.tsparse")).Length < new FileInfo(dir.File("f.tsparse")).Length * 0.8);
        foreach (var (expected, actual) in network.Parameters().Zip(loaded.Network.Parameters()))
            for (var i = 0; i < expected.Values.Length; i++)
            {
                var v = expected.Values[i];
                Assert.Equal((float)(Half)v, actual.Values[i]);
                // binary16 has an 11-bit significand: relative error ≤ 2⁻¹¹, absolute ≤ 2⁻²⁵ among subnormals.
                Assert.True(Math.Abs(actual.Values[i] - v) <= Math.Max(Math.Abs(v) * Math.Pow(2, -11), Math.Pow(2, -25)), $"{expected.Name}[{i}]");
            }
    }

    [Fact]
    public void Values_beyond_the_float16_range_are_refused_for_half_precision()
    {
        using var dir = new TestDirectory();
        var network = new SequentialNetwork(2, 1, 1, new NetworkLayer[] { new FlattenLayer(), new LinearLayer("fc", 2, 1, new[] { 1e6f, 0f }, new[] { 0f }) });
        Assert.Throws<ArgumentException>(() => SparseModelFile.Save(dir.File("h.tsparse"), network, null, half: true));
        Assert.False(File.Exists(dir.File("h.tsparse")));
    }

    [Fact]
    public void Truncated_and_corrupted_files_give_one_line_errors_naming_the_file()
    {
        using var dir = new TestDirectory();
        var path = dir.File("good.tsparse");
        SparseModelFile.Save(path, PrunedNetworks.Network("lenet5", 0.95), "lenet5");
        var bytes = File.ReadAllBytes(path);
        var random = new Random(2);
        var damaged = dir.File("damaged.tsparse");
        for (var trial = 0; trial < 300; trial++)
        {
            var copy = (byte[])bytes.Clone();
            switch (trial % 3)
            {
                case 0: copy = copy.AsSpan(0, random.Next(copy.Length)).ToArray(); break;
                case 1: copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8)); break;
                default: copy[random.Next(copy.Length)] = (byte)random.Next(256); copy[random.Next(copy.Length)] ^= 0x40; break;
            }
            if (copy.AsSpan().SequenceEqual(bytes)) continue;
            File.WriteAllBytes(damaged, copy);
            var error = Assert.Throws<ModelFileException>(() => SparseModelFile.Load(damaged));
            Assert.Contains("damaged.tsparse", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    public static TheoryData<string, string, string> HeaderTampering => new()
    {
        { "\"in\":800", "\"in\":16777216", "fc1.weight" },
        { "\"out\":500", "\"out\":2000000000", "outside" },
        { "\"nonzero\":", "\"nonzero\":99999999", "" },
        { "\"layout\":\"csr\"", "\"layout\":\"zip\"", "layout" },
        { "\"values\":\"float32\"", "\"values\":\"float64\"", "value type" },
        { "\"kind\":\"relu\"", "\"kind\":\"gelu\"", "layer kind" },
        { "\"kernel\":[5,5]", "\"kernel\":[0,5]", "outside" },
        { "\"padding\":[0,0]", "\"padding\":[-1,0]", "outside" },
        { "\"name\":\"fc1\"", "\"name\":\"fc9\"", "fc9" },
    };

    [Theory]
    [MemberData(nameof(HeaderTampering))]
    public void A_consistent_checksum_over_an_inconsistent_header_is_still_rejected_before_allocating(string find, string replace, string expected)
    {
        using var dir = new TestDirectory();
        var path = dir.File("m.tsparse");
        SparseModelFile.Save(path, PrunedNetworks.Network("lenet5", 0.95), "lenet5");
        var bytes = File.ReadAllBytes(path);
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var header = Encoding.UTF8.GetString(bytes, 16, headerLength);
        Assert.Contains(find, header);
        var index = header.IndexOf(find, StringComparison.Ordinal);
        var tampered = Encoding.UTF8.GetBytes(header[..index] + replace + header[(index + find.Length)..]);
        var body = bytes.AsSpan(16 + headerLength, bytes.Length - 20 - headerLength);
        var rebuilt = new byte[16 + tampered.Length + body.Length + 4];
        bytes.AsSpan(0, 12).CopyTo(rebuilt);
        BinaryPrimitives.WriteInt32LittleEndian(rebuilt.AsSpan(12), tampered.Length);
        tampered.CopyTo(rebuilt.AsSpan(16));
        body.CopyTo(rebuilt.AsSpan(16 + tampered.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(rebuilt.AsSpan(rebuilt.Length - 4), Crc32.Compute(rebuilt.AsSpan(0, rebuilt.Length - 4)));
        File.WriteAllBytes(path, rebuilt);

        var error = Assert.Throws<ModelFileException>(() => SparseModelFile.Load(path));
        Assert.Contains("m.tsparse", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Missing_and_foreign_files_are_rejected()
    {
        using var dir = new TestDirectory();
        Assert.Contains("not found", Assert.Throws<ModelFileException>(() => SparseModelFile.Load(dir.File("none.tsparse"))).Message);
        File.WriteAllText(dir.File("text.tsparse"), "this is not a model, just some text that is long enough");
        Assert.Contains("magic", Assert.Throws<ModelFileException>(() => SparseModelFile.Load(dir.File("text.tsparse"))).Message);
    }
}
