using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Support;

/// <summary>Builds small PyTorch state dict files by hand, to put exactly the cases a test needs into them.</summary>
internal static class StateDictFiles
{
    /// <summary>One storage of a hand-built <c>.pt</c>: PyTorch's storage type name and the raw bytes.</summary>
    public sealed record Storage(string TypeName, long Elements, byte[] Bytes);

    /// <summary>One tensor of a hand-built <c>.pt</c>: a view of storage <paramref name="Key"/>.</summary>
    public sealed record View(string Name, int Key, long Offset, long[] Shape, long[] Strides);

    /// <summary>Writes a <c>torch.save</c>-style zip whose pickle is an OrderedDict of the views.</summary>
    public static void WritePt(string path, IReadOnlyList<Storage> storages, IReadOnlyList<View> views)
    {
        var pickle = new PickleWriter();
        pickle.PushGlobal("collections", "OrderedDict").PushEmptyTuple().Call().OpenMark();
        foreach (var view in views)
        {
            var storage = storages[view.Key];
            pickle.PushString(view.Name).PushGlobal("torch._utils", "_rebuild_tensor_v2").OpenMark();
            pickle.OpenMark().PushString("storage").PushGlobal("torch", storage.TypeName).PushString(view.Key.ToString())
                .PushString("cpu").PushInt(storage.Elements).CloseTuple().LoadPersistent();
            pickle.PushInt(view.Offset);
            Tuple(pickle, view.Shape);
            Tuple(pickle, view.Strides);
            pickle.PushFalse().PushGlobal("collections", "OrderedDict").PushEmptyTuple().Call();
            pickle.CloseTuple().Call();
        }
        pickle.CloseSetItems();
        WriteZip(path, pickle.Finish(), storages.Select(s => s.Bytes).ToList());
    }

    /// <summary>Writes a zip with the given pickle as <c>archive/data.pkl</c> and the storages as <c>archive/data/N</c>.</summary>
    public static void WriteZip(string path, byte[] pickle, IReadOnlyList<byte[]> storages)
    {
        using var stream = File.Create(path);
        var zip = new AlignedZipWriter(stream);
        zip.Add("archive/data.pkl", pickle);
        zip.Add("archive/byteorder", "little"u8);
        for (var i = 0; i < storages.Count; i++) zip.Add($"archive/data/{i}", storages[i]);
        zip.Finish();
    }

    /// <summary>Writes a safetensors file: the header JSON as given (spaces pad it to 8 bytes), then the data.</summary>
    public static void WriteSafetensors(string path, string headerJson, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(headerJson);
        var padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes named tensors as safetensors, in the order given, with a metadata entry.</summary>
    public static void WriteSafetensors(string path, IReadOnlyList<(string Name, string Dtype, Tensor Tensor)> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        var data = new List<byte>();
        foreach (var (name, dtype, tensor) in tensors)
        {
            using var contiguous = tensor.contiguous();
            var begin = data.Count;
            data.AddRange(contiguous.bytes.ToArray());
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(begin, data.Count),
            };
        }
        WriteSafetensors(path, header.ToJsonString(), [.. data]);
    }

    private static void Tuple(PickleWriter pickle, long[] values)
    {
        pickle.OpenMark();
        foreach (var value in values) pickle.PushInt(value);
        pickle.CloseTuple();
    }
}
