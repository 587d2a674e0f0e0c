using Topiary.Models;
using static TorchSharp.torch;

namespace Topiary.Tests.Models;

public class ModelTests
{
    [Theory]
    [InlineData("lenet300", 266_610)]
    [InlineData("lenet5", 431_080)]
    public void Parameter_counts_match_the_literature(string name, long expected)
    {
        using var model = ModelCatalog.Create(name);
        Assert.Equal(expected, ModelCatalog.CountParameters(model));
    }

    [Theory]
    [InlineData("lenet300")]
    [InlineData("lenet5")]
    public void Models_map_a_batch_of_images_to_class_logits(string name)
    {
        using var model = ModelCatalog.Create(name);
        using var output = model.forward(randn(3, 1, 28, 28));
        Assert.Equal(new long[] { 3, 10 }, output.shape);
    }

    [Fact]
    public void LeNet5_layers_are_the_caffe_variant()
    {
        using var model = new LeNet5();
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 20, 1, 5, 5 }, shapes["conv1.weight"]);
        Assert.Equal(new long[] { 50, 20, 5, 5 }, shapes["conv2.weight"]);
        Assert.Equal(new long[] { 500, 800 }, shapes["fc1.weight"]);
        Assert.Equal(new long[] { 10, 500 }, shapes["fc2.weight"]);
    }

    [Fact]
    public void Unknown_model_names_are_rejected_with_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelCatalog.Create("resnet"));
        Assert.Contains("lenet5", error.Message);
    }
}
