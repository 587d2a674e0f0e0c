using System.Text.Json.Nodes;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Serialization;

public class ModelFileTests
{
    private static string SavePruned(TestDirectory dir, out nn.Module<Tensor, Tensor> model, out PruningMasks masks)
    {
        manual_seed(10);
        model = new LeNet5();
        masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneFraction(masks, 0.7);
        var path = dir.File("m.topiary");
        ModelFile.Save(path, "lenet5", 28, 10, model, masks, new JsonObject { ["seed"] = 10 });
        return path;
    }

    [Fact]
    public void A_saved_model_loads_back_bit_for_bit_with_its_masks()
    {
        using var dir = new TestDirectory();
        var path = SavePruned(dir, out var model, out var masks);
        var loaded = ModelFile.Load(path);
        Assert.Equal("lenet5", loaded.Architecture);
        Assert.Equal(10, loaded.Metadata["seed"]!.GetValue<int>());
        var original = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in loaded.Model.named_parameters())
            Assert.True(TensorAssert.Same(parameter, original[name]), name);
        foreach (var entry in masks.Entries)
            Assert.True(TensorAssert.Same(loaded.Masks[entry.Name], entry.Mask), entry.Name);
        using var x = randn(5, 1, 28, 28);
        Assert.True(TensorAssert.Same(loaded.Model.forward(x), model.forward(x)));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }

    [Fact]
    public void Truncated_and_corrupted_files_give_one_line_errors_naming_the_file()
    {
        using var dir = new TestDirectory();
        var path = SavePruned(dir, out _, out _);
        var bytes = File.ReadAllBytes(path);
        var random = new Random(1);
        var damaged = dir.File("damaged.topiary");
        for (var trial = 0; trial < 40; trial++)
        {
            var copy = trial % 2 == 0
                ? bytes.AsSpan(0, random.Next(bytes.Length)).ToArray()
                : (byte[])bytes.Clone();
            if (trial % 2 == 1) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(damaged, copy);
            var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(damaged));
            Assert.Contains("damaged.topiary", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    [Fact]
    public void Missing_and_foreign_files_are_rejected()
    {
        using var dir = new TestDirectory();
        Assert.Contains("not found", Assert.Throws<ModelFileException>(() => ModelFile.Load(dir.File("none.topiary"))).Message);
        File.WriteAllText(dir.File("text.topiary"), "this is not a model, just some text that is long enough");
        Assert.Contains("magic", Assert.Throws<ModelFileException>(() => ModelFile.Load(dir.File("text.topiary"))).Message);
    }
}
