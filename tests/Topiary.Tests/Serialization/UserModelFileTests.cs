using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Serialization;

public class UserModelFileTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Serialization", "Data");

    static UserModelFileTests() => ModelArchitectures.Register(SmallCnn.ArchitectureName, SmallCnn.FromConfig);

    private static string SaveTrained(TestDirectory dir, SmallCnn model, JsonObject config, PruningMasks? masks = null)
    {
        var path = dir.File("user.topiary");
        ModelFile.Save(path, SmallCnn.ArchitectureName, model, masks, new JsonObject { ["seed"] = 1 }, config);
        return path;
    }

    private static void AssertSameState(nn.Module expected, nn.Module actual)
    {
        var want = expected.state_dict();
        var got = actual.state_dict();
        Assert.Equal(want.Keys, got.Keys);
        foreach (var (name, t) in want) Assert.True(TensorAssert.BitEqual(t, got[name]), $"{name} differs");
    }

    [Fact]
    public void A_user_cnn_with_batchnorm_loads_back_by_name_and_into_a_fresh_module_bit_for_bit()
    {
        using var dir = new TestDirectory();
        using var model = SmallCnn.Trained(seed: 1);
        var state = model.state_dict();
        Assert.Equal(ScalarType.Int64, state["bn.num_batches_tracked"].dtype);
        Assert.Equal(3L, state["bn.num_batches_tracked"].item<long>());
        Assert.False(state["bn.running_mean"].eq(0).all().item<bool>(), "the running mean should have moved from its default");
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        var path = SaveTrained(dir, model, SmallCnn.Config(), masks);
        using var input = randn(5, 1, 8, 8);
        using var expected = model.forward(input);

        var byName = ModelFile.Load(path);
        var fresh = new SmallCnn();
        var into = ModelFile.LoadInto(path, fresh);
        Assert.Same(fresh, into.Model);
        foreach (var loaded in new[] { byName, into })
        {
            Assert.Equal(SmallCnn.ArchitectureName, loaded.Architecture);
            Assert.Equal(1, loaded.Metadata["seed"]!.GetValue<int>());
            Assert.Equal(4, loaded.ArchitectureConfig!["channels"]!.GetValue<int>());
            Assert.Equal(0, loaded.ImageSize);
            AssertSameState(model, loaded.Model);
            Assert.Equal(ScalarType.Int64, loaded.Model.state_dict()["bn.num_batches_tracked"].dtype);
            Assert.Equal(masks.Entries.Select(e => e.Name), loaded.Masks.Keys);
            foreach (var entry in masks.Entries) Assert.True(TensorAssert.BitEqual(entry.Mask, loaded.Masks[entry.Name]), entry.Name);
            loaded.Model.eval();
            using var output = loaded.Model.forward(input);
            Assert.True(TensorAssert.BitEqual(expected, output), "eval outputs differ");
        }
    }

    [Fact]
    public void A_module_of_another_shape_is_refused_in_one_line_naming_the_first_mismatch_and_left_unchanged()
    {
        using var dir = new TestDirectory();
        using var model = SmallCnn.Trained(seed: 2);
        var path = SaveTrained(dir, model, SmallCnn.Config());
        using var wider = new SmallCnn(channels: 5);
        var before = wider.state_dict().ToDictionary(s => s.Key, s => s.Value.clone());

        var error = Assert.Throws<ModelFileException>(() => ModelFile.LoadInto(path, wider));
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{path}: does not match the module: 'conv.weight' has shape [4,1,3,3] in the file but [5,1,3,3] in the module (and ", error.Message);
        Assert.Contains("'bn.running_var' has shape [4] in the file but [5] in the module", error.Mismatches);
        Assert.Contains("'fc.weight' has shape [3,64] in the file but [3,80] in the module", error.Mismatches);
        Assert.Equal(7, error.Mismatches.Count); // all but fc.bias and num_batches_tracked
        AssertSameState(new DictModule(before), new DictModule(wider.state_dict()));

        // Names on either side: a module with another layout.
        using var other = new LeNet300(64, 3);
        var names = Assert.Throws<ModelFileException>(() => ModelFile.LoadInto(path, other));
        Assert.Contains("'bn.num_batches_tracked' is in the file but not in the module", names.Mismatches);
        Assert.Contains("'fc1.weight' is in the module but not in the file", names.Mismatches);
    }

    [Fact]
    public void An_unknown_architecture_is_a_one_line_error_that_says_how_to_load_it()
    {
        using var dir = new TestDirectory();
        using var model = SmallCnn.Trained(seed: 3);
        var path = dir.File("unknown.topiary");
        ModelFile.Save(path, "never-registered", model);
        var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{path}: unknown architecture 'never-registered': register it first (ModelArchitectures.Register(", error.Message);
        Assert.Contains("ModelFile.LoadInto(path, module)", error.Message);
        // Into a module of the same shape it loads all the same.
        AssertSameState(model, ModelFile.LoadInto(path, new SmallCnn()).Model);
    }

    [Fact]
    public void A_float64_model_round_trips_in_float64_and_converts_into_a_float32_module()
    {
        using var dir = new TestDirectory();
        using var model = SmallCnn.Trained(seed: 4, dtype: ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, model.state_dict()["conv.weight"].dtype);
        var path = SaveTrained(dir, model, SmallCnn.Config(float64: true));

        AssertSameState(model, ModelFile.Load(path).Model);
        var fresh = new SmallCnn();
        fresh.to(float64);
        AssertSameState(model, ModelFile.LoadInto(path, fresh).Model);

        // Floating-point types convert (rounding); the int64 count stays exact.
        using var narrow = new SmallCnn();
        ModelFile.LoadInto(path, narrow);
        foreach (var (name, t) in model.state_dict())
        {
            using var expected = t.dtype == ScalarType.Float64 ? t.to(float32) : t.clone();
            Assert.True(TensorAssert.BitEqual(expected, narrow.state_dict()[name]), name);
        }
    }

    [Fact]
    public void Version_1_model_files_written_before_still_load_by_name_and_into_a_module()
    {
        var lenetPath = Path.Combine(Fixtures, "lenet5-v1.topiary");
        var lenet = ModelFile.Load(lenetPath);
        Assert.Equal(("lenet5", 16, 2), (lenet.Architecture, lenet.ImageSize, lenet.Classes));
        Assert.Equal(4, lenet.Metadata["seed"]!.GetValue<int>());
        AssertMatchesExpectation(lenetPath, lenet);
        AssertMatchesExpectation(lenetPath, ModelFile.LoadInto(lenetPath, new LeNet5(16, 2)));

        var lmPath = Path.Combine(Fixtures, "transformer-lm-v1.topiary");
        var lm = ModelFile.Load(lmPath);
        Assert.IsType<TransformerLanguageModel>(lm.Model);
        Assert.Equal(CharacterTokenizer.Unknown + "abcdefghijk", LanguageModelFile.Tokenizer(lmPath, lm).Vocabulary);
        AssertMatchesExpectation(lmPath, lm);
    }

    [Fact]
    public void The_catalogue_and_the_transformers_are_registered_and_cannot_be_replaced()
    {
        foreach (var name in new[] { "lenet5", "lenet300", "transformer-lm", "transformer-mt" })
        {
            Assert.True(ModelArchitectures.IsRegistered(name), name);
            Assert.Throws<ArgumentException>(() => ModelArchitectures.Register(name, _ => new LeNet5()));
        }
        Assert.Contains(SmallCnn.ArchitectureName, ModelArchitectures.Names);
    }

    private static void AssertMatchesExpectation(string path, LoadedModel loaded)
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(path, ".expected.json")))!.AsObject();
        var parameters = loaded.Model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        Assert.Equal(expected["parameters"]!.AsObject().Select(p => p.Key), parameters.Keys);
        foreach (var (name, hash) in expected["parameters"]!.AsObject()) Assert.Equal(hash!.GetValue<string>(), Sha256(parameters[name]));
        Assert.Equal(expected["masks"]!.AsObject().Select(p => p.Key), loaded.Masks.Keys);
        foreach (var (name, hash) in expected["masks"]!.AsObject()) Assert.Equal(hash!.GetValue<string>(), Sha256(loaded.Masks[name]));
    }

    private static string Sha256(Tensor t)
    {
        using var cpu = t.detach().to(float32).contiguous();
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan())));
    }

    // Lets AssertSameState compare two snapshots of a state.
    private sealed class DictModule(Dictionary<string, Tensor> state) : nn.Module("snapshot")
    {
        public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null) => state;
    }
}
