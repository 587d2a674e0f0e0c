using System.Text;
using System.Text.Json.Nodes;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Serialization;
using Topiary.Tests.Deployment;
using Topiary.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Serialization;

public class StateDictImportTests
{
    private static readonly string TorchFixtures = Path.Combine(AppContext.BaseDirectory, "Serialization", "Data", "torch-1.13");

    [Fact]
    public void State_dicts_saved_by_pytorch_read_bit_for_bit_and_the_model_computes_what_pytorch_computed() =>
        CheckTorchFiles(TorchFixtures);

    [TorchPythonFact]
    public void State_dicts_saved_by_the_installed_pytorch_read_the_same_way()
    {
        using var dir = new TestDirectory();
        Python3.RunWith(Python3.WithTorch.Value!, "Serialization/Data/make_torch_state_dicts.py", dir.Path);
        CheckTorchFiles(dir.Path);
    }

    private static void CheckTorchFiles(string folder)
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")))!.AsObject();

        var odd = StateDictImport.Read(Path.Combine(folder, "odd.pt"));
        AssertTensors(expected["odd"]!.AsObject(), odd);
        Assert.Contains(ScalarType.BFloat16, odd.Values.Select(t => t.dtype));

        using var model = new SmallCnn(channels: 2);
        var result = StateDictImport.LoadInto(model, Path.Combine(folder, "cnn.pt"));
        Assert.Equal(9, result.Loaded.Count);
        Assert.Empty(result.Missing);
        Assert.Empty(result.Unexpected);
        AssertTensors(expected["cnn"]!.AsObject(), model.state_dict());
        Assert.Equal(ScalarType.Int64, model.state_dict()["bn.num_batches_tracked"].dtype);

        model.eval();
        using var input = tensor(expected["input"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).reshape(2, 1, 8, 8);
        using var pytorchOutput = tensor(expected["output"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).reshape(2, 3);
        using var output = model.forward(input);
        // Other convolution kernels round differently; the weights and statistics above are exact.
        Assert.True(output.allclose(pytorchOutput, rtol: 0, atol: 1e-5), "TorchSharp's output differs from PyTorch's");
    }

    private static void AssertTensors(JsonObject expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Select(e => e.Key).Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var t = actual[name];
            Assert.Equal(e!["dtype"]!.GetValue<string>(), StoredType.NameOf(t.dtype));
            Assert.Equal(e["shape"]!.AsArray().Select(d => d!.GetValue<long>()), t.shape);
            using var contiguous = t.contiguous();
            Assert.True(e["hex"]!.GetValue<string>() == Convert.ToHexStringLower(contiguous.bytes), $"{name} differs");
        }
    }

    [Fact]
    public void What_our_pytorch_and_safetensors_exporters_write_reads_back_bit_for_bit()
    {
        using var dir = new TestDirectory();
        using var model = PrunedNetworks.Model("lenet5", 0.9);
        var network = CatalogNetworks.FromModel("lenet5", 28, model);
        PyTorchExporter.Save(dir.File("m.pt"), network);
        SafetensorsExporter.Save(dir.File("m.safetensors"), network, new Dictionary<string, string> { ["seed"] = "3" });
        var exported = network.Parameters().ToList();
        foreach (var file in new[] { "m.pt", "m.safetensors" })
        {
            var read = StateDictImport.Read(dir.File(file));
            Assert.Equal(exported.Select(p => p.Name), read.Keys);
            foreach (var (name, shape, values) in exported)
            {
                using var expected = tensor(values).reshape(shape);
                Assert.True(TensorAssert.BitEqual(expected, read[name]), $"{file}: {name}");
            }
            using var fresh = new LeNet5();
            StateDictImport.LoadInto(fresh, dir.File(file));
            foreach (var (name, parameter) in fresh.named_parameters()) Assert.True(TensorAssert.BitEqual(read[name], parameter), $"{file}: {name} into LeNet5");
        }
    }

    [Fact]
    public void A_hand_built_pickle_with_strides_offsets_a_shared_storage_int64_and_bool_reads_as_pytorch_would()
    {
        using var dir = new TestDirectory();
        using var floats = arange(12, dtype: float32).mul(0.5);
        using var grid = floats.reshape(3, 4);
        var longs = new long[] { -(1L << 40), 0, 7 };
        var storages = new StateDictFiles.Storage[]
        {
            new("FloatStorage", 12, floats.bytes.ToArray()),
            new("LongStorage", 3, longs.SelectMany(BitConverter.GetBytes).ToArray()),
            new("BoolStorage", 4, [1, 0, 1, 1]),
            new("DoubleStorage", 1, BitConverter.GetBytes(2.25)),
        };
        StateDictFiles.WritePt(dir.File("h.pt"), storages,
        [
            new("transposed", 0, 0, [4, 3], [1, 4]),
            new("row", 0, 4, [4], [1]),
            new("column", 0, 1, [3], [4]),
            new("ids", 1, 0, [3], [1]),
            new("flags", 2, 1, [3], [1]),
            new("scalar", 3, 0, [], []),
            new("empty", 0, 12, [0, 5], [5, 1]),
        ]);
        var read = StateDictImport.Read(dir.File("h.pt"));
        Assert.True(TensorAssert.BitEqual(grid.t(), read["transposed"]));
        Assert.True(TensorAssert.BitEqual(grid[1], read["row"]));
        Assert.True(TensorAssert.BitEqual(grid[.., 1], read["column"]));
        Assert.True(TensorAssert.BitEqual(tensor(longs), read["ids"]));
        Assert.True(TensorAssert.BitEqual(tensor(new[] { false, true, true }), read["flags"]));
        Assert.True(TensorAssert.BitEqual(tensor(2.25), read["scalar"]));
        Assert.Equal([0L, 5L], read["empty"].shape);
        Assert.True(read.Values.All(t => t.is_contiguous()));

        // A view the storage cannot hold is named, before any data is read.
        StateDictFiles.WritePt(dir.File("h.pt"), storages, [new("too_far", 0, 10, [2, 2], [1, 1])]);
        Assert.Equal($"{dir.File("h.pt")}: tensor 'too_far' reaches past the end of its storage",
            Assert.Throws<StateDictException>(() => StateDictImport.Read(dir.File("h.pt"))).Message);
    }

    [Fact]
    public void Safetensors_of_every_dtype_with_metadata_read_bit_for_bit()
    {
        using var dir = new TestDirectory();
        manual_seed(4);
        var tensors = new (string Name, string Dtype, Tensor Tensor)[]
        {
            ("b", "BF16", randn(3, dtype: bfloat16)), ("h", "F16", randn(2, 2, dtype: float16)), ("d", "F64", randn(2, dtype: float64)),
            ("l", "I64", tensor(new long[] { long.MinValue, 5 })), ("i", "I32", tensor(new[] { -1, 2 })), ("s", "I16", tensor(new short[] { -3 })),
            ("c", "I8", tensor(new sbyte[] { -4 })), ("u", "U8", tensor(new byte[] { 250 })), ("f", "BOOL", tensor(new[] { true, false })),
            ("a", "F32", randn(2, 3)),
        };
        StateDictFiles.WriteSafetensors(dir.File("all.safetensors"), tensors);
        var read = StateDictImport.Read(dir.File("all.safetensors"));
        Assert.Equal(tensors.Select(t => t.Name), read.Keys);
        foreach (var (name, _, t) in tensors) Assert.True(TensorAssert.BitEqual(t, read[name]), name);
    }

    [Fact]
    public void Every_name_or_shape_that_does_not_match_is_one_line_naming_the_file_and_strict_is_the_default()
    {
        using var dir = new TestDirectory();
        using var lenet5 = PrunedNetworks.Model("lenet5", 0.5);
        var path = dir.File("lenet5.pt");
        PyTorchExporter.Save(path, CatalogNetworks.FromModel("lenet5", 28, lenet5));

        using var other = new Partial();
        var before = other.conv1.weight!.clone();
        var error = Assert.Throws<StateDictException>(() => StateDictImport.LoadInto(other, path));
        Assert.Equal(
        [
            "'conv2.weight' is in the file but not in the module", "'conv2.bias' is in the file but not in the module",
            "'fc1.weight' has shape [500,800] in the file but [500,801] in the module",
            "'fc1.bias' is in the file but not in the module", "'fc2.weight' is in the file but not in the module", "'fc2.bias' is in the file but not in the module",
            "'count' is in the module but not in the file",
        ], error.Mismatches);
        Assert.Equal(error.Mismatches.Select(m => $"{path}: {m}"), error.Message.Split('\n'));
        Assert.True(TensorAssert.BitEqual(before, other.conv1.weight!), "a refused import changed the module");

        // Ignoring names on either side loads what matches; a shape that differs is never ignored.
        Assert.Single(Assert.Throws<StateDictException>(() => StateDictImport.LoadInto(other, path, ignoreMissing: true, ignoreUnexpected: true)).Mismatches);
        using var partial = new Partial(fc1Inputs: 800);
        var result = StateDictImport.LoadInto(partial, path, ignoreMissing: true, ignoreUnexpected: true);
        Assert.Equal(["conv1.weight", "conv1.bias", "fc1.weight"], result.Loaded);
        Assert.Equal(["count"], result.Missing);
        Assert.Equal(["conv2.weight", "conv2.bias", "fc1.bias", "fc2.weight", "fc2.bias"], result.Unexpected);
        Assert.True(TensorAssert.BitEqual(lenet5.named_parameters().First().parameter, partial.conv1.weight!));

        // Integers do not convert into floats.
        var counts = dir.File("counts.safetensors");
        StateDictFiles.WriteSafetensors(counts, [("count", "I32", tensor(new[] { 1, 2 }))]);
        var dtype = Assert.Throws<StateDictException>(() => StateDictImport.LoadInto(partial, counts, ignoreMissing: true));
        Assert.Equal($"{counts}: 'count' is int32 in the file but int64 in the module (only floating-point types convert)", dtype.Message);
    }

    [Fact]
    public void A_pickle_that_names_a_forbidden_global_is_refused_by_name_and_never_run()
    {
        using var dir = new TestDirectory();
        var marker = dir.File("ran");
        var path = dir.File("evil.pt");
        StateDictFiles.WriteZip(path, new PickleWriter().PushGlobal("os", "system").OpenMark().PushString($"touch {marker}").CloseTuple().Call().Finish(), []);
        var error = Assert.Throws<StateDictException>(() => StateDictImport.Read(path));
        Assert.Equal($"{path}: data.pkl: the pickle names the global 'os.system', which a state dict never needs: refused (only tensors, their storages and OrderedDict are read, nothing is executed)", error.Message);
        Assert.False(File.Exists(marker));

        // Protocol 4's STACK_GLOBAL, the way pickle names a callable today: refused the same way.
        var stackGlobal = new byte[] { 0x80, 4 }.Concat(Short("builtins")).Concat(Short("eval")).Concat(new byte[] { 0x93, (byte)'.' }).ToArray();
        StateDictFiles.WriteZip(path, stackGlobal, []);
        Assert.Contains("'builtins.eval'", Assert.Throws<StateDictException>(() => StateDictImport.Read(path)).Message);

        // A dict of something other than tensors, and files of other kinds.
        StateDictFiles.WriteZip(path, new PickleWriter().PushGlobal("collections", "OrderedDict").PushEmptyTuple().Call()
            .OpenMark().PushString("epoch").PushInt(3).CloseSetItems().Finish(), []);
        Assert.Equal($"{path}: 'epoch' is an integer, not a tensor", Assert.Throws<StateDictException>(() => StateDictImport.Read(path)).Message);
        File.WriteAllBytes(path, [0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
        Assert.Contains("before PyTorch 1.6", Assert.Throws<StateDictException>(() => StateDictImport.Read(path)).Message);
        File.WriteAllText(path, "not a model at all");
        Assert.Contains("neither a PyTorch zip", Assert.Throws<StateDictException>(() => StateDictImport.Read(path)).Message);
        Assert.Contains("not found", Assert.Throws<StateDictException>(() => StateDictImport.Read(dir.File("none.pt"))).Message);
    }

    private static byte[] Short(string text) => [0x8c, (byte)text.Length, .. Encoding.ASCII.GetBytes(text)];

    // Part of LeNet-5 under its names, one layer of another shape, and a buffer the files lack.
    private sealed class Partial : nn.Module<Tensor, Tensor>
    {
        public readonly TorchSharp.Modules.Conv2d conv1 = nn.Conv2d(1, 20, 5);
        public readonly TorchSharp.Modules.Linear fc1;

        public Partial(int fc1Inputs = 801) : base("partial")
        {
            fc1 = nn.Linear(fc1Inputs, 500, hasBias: false);
            register_buffer("count", tensor(new long[] { 0, 0 }));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => fc1.call(conv1.call(input).flatten(1));
    }
}
