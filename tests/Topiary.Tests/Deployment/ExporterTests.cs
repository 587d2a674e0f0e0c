using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Topiary.Inference;
using Topiary.Tests.Support;
using Topiary.Models;

namespace Topiary.Tests.Deployment;

public class ExporterTests
{
    public static TheoryData<string, double, bool> Models => new()
    {
        { "lenet5", 0.9, false },
        { "lenet300", 0.95, false },
        { "lenet5", 0.995, true },
        { "lenet300", 0.995, true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Onnx_runtime_and_torchsharp_agree_on_the_exported_model(string architecture, double sparsity, bool simplify)
    {
        using var dir = new TestDirectory();
        var network = PrunedNetworks.Network(architecture, sparsity);
        if (simplify) network = NetworkSimplifier.Simplify(network).Network;
        var path = dir.File("m.onnx");
        OnnxExporter.Save(path, network);

        using var images = PrunedNetworks.Images(5);
        using var torchNetwork = new TorchNetwork(network);
        using var expected = torchNetwork.forward(images);
        OnnxRuntimeRunner.AssertAgrees(expected, OnnxRuntimeRunner.Run(path, images), 1e-4);
    }

    [Fact]
    public void The_safetensors_state_dict_has_pytorch_names_shapes_and_exact_values()
    {
        using var dir = new TestDirectory();
        using var model = PrunedNetworks.Model("lenet5", 0.9);
        var network = CatalogNetworks.FromModel("lenet5", 28, model);
        var path = dir.File("m.safetensors");
        SafetensorsExporter.Save(path, network, new Dictionary<string, string> { ["format"] = "pt" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd(' '));
        var dataStart = 8 + headerLength;
        var names = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p => p.Name).ToList();
        Assert.Equal(model.named_parameters().Select(p => p.name), names);
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        long end = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            var entry = header.RootElement.GetProperty(name);
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(parameter.shape, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            Assert.Equal(end, offsets[0]);
            end = offsets[1];
            var stored = bytes.AsSpan(dataStart + (int)offsets[0], (int)(offsets[1] - offsets[0]));
            var expected = parameter.detach().contiguous().data<float>().ToArray();
            Assert.True(stored.SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan())), name);
        }
        Assert.Equal(bytes.Length, dataStart + end);
    }
}
