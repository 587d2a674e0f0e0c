using Topiary.Models;
using Topiary.Pruning.Toolkit;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class SelectorAndLifecycleTests
{
    [Fact]
    public void A_selector_that_matches_no_layer_is_an_error_naming_it()
    {
        using var model = new LeNet300();
        var e = Assert.Throws<PruningSelectionException>(() => new LayerSelector { NamePattern = "conv*" }.Select(model));
        Assert.Contains("'conv*'", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Throws<PruningSelectionException>(() => new LayerSelector { ModuleTypes = new[] { "Conv2d" } }.Select(model));
    }

    [Fact]
    public void Selection_by_type_and_name_pattern()
    {
        using var model = new LeNet5();
        var convs = new LayerSelector { ModuleTypes = new[] { "Conv2d" }, Scope = Topiary.Pruning.ParameterScope.WeightsAndBiases }.Select(model);
        Assert.Equal(new[] { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias" }, convs.Select(p => p.Name));
        Assert.Equal(new[] { "fc1.weight", "fc2.weight" }, new LayerSelector { NamePattern = "fc?.weight" }.Select(model).Select(p => p.Name));
    }

    [Fact]
    public void Masks_survive_save_and_load_and_a_removed_model_loads_into_a_plain_model_with_the_same_outputs()
    {
        using var dir = new TestDirectory();
        manual_seed(41);
        var model = new LeNet300();
        var masks = Prune.Attach(model);
        Prune.Unstructured(masks, PruningAmount.OfFraction(0.8));
        Assert.True(Prune.IsPruned(model));
        var masked = dir.File("masked.topiary");
        ModelFile.Save(masked, "lenet300", 28, 10, model, masks);

        var loaded = ModelFile.Load(masked);
        var restored = Prune.Restore(loaded.Model, loaded.Masks);
        Assert.True(Prune.IsPruned(loaded.Model));
        Assert.Equal(masks.Remaining, restored.Remaining);
        foreach (var e in masks.Entries) Assert.True(TensorAssert.Same(e.Mask, restored.Entries.Single(r => r.Name == e.Name).Mask), e.Name);

        using var x = randn(7, 784);
        var before = model.forward(x).detach().clone();
        Prune.Remove(model);
        Assert.False(Prune.IsPruned(model));
        var baked = dir.File("baked.topiary");
        ModelFile.Save(baked, "lenet300", 28, 10, model, masks: null);
        var plain = ModelFile.Load(baked);
        Assert.Empty(plain.Masks);
        Assert.True(TensorAssert.Same(before, plain.Model.forward(x)));
        // The zeros are plain values now: 80% of the weights are exactly zero.
        var weights = plain.Model.named_parameters().Where(p => p.name.EndsWith("weight", StringComparison.Ordinal)).ToList();
        var zeros = weights.Sum(p => p.parameter.eq(0).sum().item<long>());
        Assert.Equal(Math.Round(0.8 * weights.Sum(p => p.parameter.numel())), zeros);
    }
}
