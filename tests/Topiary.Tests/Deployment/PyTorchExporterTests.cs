using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using Topiary.Inference;
using Topiary.Tests.Support;
using Topiary.Models;

namespace Topiary.Tests.Deployment;

public class PyTorchExporterTests
{
    [Python3Fact]
    public void Pythons_own_zipfile_and_pickle_read_back_the_state_dict_bit_for_bit_in_pytorch_order()
    {
        using var dir = new TestDirectory();
        using var model = PrunedNetworks.Model("lenet5", 0.9);
        var path = dir.File("m.pt");
        PyTorchExporter.Save(path, CatalogNetworks.FromModel("lenet5", 28, model));

        using var read = JsonDocument.Parse(Python3.Run("Deployment/read_torch_state_dict.py", path));
        var root = read.RootElement;
        Assert.Equal("little", root.GetProperty("byteorder").GetString());
        Assert.Equal("3", root.GetProperty("version").GetString()!.Trim());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        var parameters = model.named_parameters().ToList();
        Assert.Equal(parameters.Select(p => p.name), tensors.Select(t => t.GetProperty("name").GetString()));
        foreach (var ((name, parameter), tensor) in parameters.Zip(tensors))
        {
            Assert.Equal(parameter.shape, tensor.GetProperty("size").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(parameter.stride(), tensor.GetProperty("stride").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(0, tensor.GetProperty("offset").GetInt64());
            Assert.False(tensor.GetProperty("requires_grad").GetBoolean());
            Assert.Equal("OrderedDict", tensor.GetProperty("hooks_type").GetString());
            Assert.Equal(0, tensor.GetProperty("hooks").GetInt32());
            var expected = parameter.detach().contiguous().data<float>().ToArray().Select(BitConverter.SingleToUInt32Bits);
            Assert.True(expected.SequenceEqual(tensor.GetProperty("bits").EnumerateArray().Select(b => b.GetUInt32())), name);
        }
        Assert.Contains(parameters, p => p.parameter.eq(0).any().item<bool>()); // pruned zeros travel too
    }

    [Fact]
    public void Every_record_is_stored_uncompressed_with_its_data_64_byte_aligned_and_a_valid_crc()
    {
        using var dir = new TestDirectory();
        // Odd sizes, so that unpadded records would land off the 64-byte grid.
        var network = new SequentialNetwork(3, 1, 1, new NetworkLayer[]
        {
            new FlattenLayer(),
            new LinearLayer("fc1", 3, 5, Enumerable.Range(0, 15).Select(i => i * 0.25f - 1).ToArray(), new float[] { 1, 2, 3, 4, 5 }),
            new ReluLayer(),
            new LinearLayer("fc2", 5, 7, Enumerable.Range(0, 35).Select(i => (float)Math.Sin(i)).ToArray(), new float[7]),
        });
        var path = dir.File("tiny.pt");
        PyTorchExporter.Save(path, network);

        var bytes = File.ReadAllBytes(path);
        var records = new List<string>();
        var offset = 0;
        while (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset)) == 0x04034b50)
        {
            var header = bytes.AsSpan(offset);
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(header[8..])); // method: stored
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[18..]);
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            records.Add(System.Text.Encoding.ASCII.GetString(header.Slice(30, nameLength)));
            var data = offset + 30 + nameLength + extraLength;
            Assert.True(data % 64 == 0, $"{records[^1]}: data at {data}");
            offset = data + size;
        }
        Assert.Equal(new[] { "archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1", "archive/data/2", "archive/data/3", "archive/version" }, records);

        // .NET's reader checks the central directory and each entry's CRC-32 while reading it to the end.
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(records, zip.Entries.Select(e => e.FullName));
        using var storage = zip.GetEntry("archive/data/2")!.Open();
        var fc2 = new byte[35 * 4];
        storage.ReadExactly(fc2);
        Assert.Equal(-1, storage.ReadByte());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(fc2).SequenceEqual(((LinearLayer)network.Layers[3]).Weight));
    }
}
