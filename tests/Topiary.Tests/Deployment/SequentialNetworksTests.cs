using Topiary.Inference;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>Reading a user's <c>nn.Sequential</c>: BatchNorm folding, dropped layers, names, and one-line refusals.</summary>
public class SequentialNetworksTests
{
    private static void AssertSameOutputs(nn.Module<Tensor, Tensor> module, SequentialNetwork network, long[] inputShape, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var torchNetwork = new TorchNetwork(network);
        var x = randn(inputShape, generator: new Generator(11));
        var expected = module.forward(x);
        var actual = torchNetwork.forward(x);
        Assert.Equal(expected.shape, actual.shape);
        var difference = PrunedNetworks.MaxDifference(expected, actual);
        Assert.True(difference <= tolerance, $"outputs differ by {difference}");
    }

    [Fact]
    public void BatchNorm_folded_at_export_gives_the_unfolded_models_outputs_in_eval_mode()
    {
        manual_seed(3);
        using var model = nn.Sequential(
            nn.Conv2d(3, 6, 3, stride: 1, padding: 1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(6 * 8 * 8, 10),
            nn.BatchNorm1d(10, eps: 1e-3));
        UserModels.Prepare(model, sparsity: 0, new long[] { 16, 3, 8, 8 }, seed: 4);
        var norms = model.modules().OfType<NormBase>().ToList();
        Assert.Equal(2, norms.Count);
        // The statistics moved away from the defaults, so folding them is really tested.
        Assert.All(norms, n => Assert.True(n.running_mean!.abs().max().item<float>() > 0.05 && n.running_var!.sub(1).abs().max().item<float>() > 0.05));

        var network = SequentialNetworks.FromSequential(model, 3, 8, 8);
        Assert.Equal(new[] { "conv2d", "relu", "flatten", "linear" }, network.Layers.Select(l => l.Kind));
        Assert.Equal(new[] { "0.weight", "0.bias", "4.weight", "4.bias" }, network.Parameters().Select(p => p.Name));
        AssertSameOutputs(model, network, new long[] { 7, 3, 8, 8 }, 1e-5);
    }

    [Fact]
    public void Bias_less_layers_and_BatchNorm_without_affine_fold_too_and_float64_models_are_read_as_float32()
    {
        manual_seed(5);
        using var model = nn.Sequential(
            nn.Conv2d(2, 4, (3, 2), stride: (2, 1), padding: (1, 0), bias: false),
            nn.BatchNorm2d(4, affine: false),
            nn.Dropout2d(0.2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * 5 * 8, 6, hasBias: false),
            nn.Identity(),
            nn.Linear(6, 3, hasBias: false));
        UserModels.Prepare(model, sparsity: 0.5, new long[] { 8, 2, 9, 9 }, seed: 6);
        model.to(float64);

        var network = SequentialNetworks.FromSequential(model, 2, 9, 9);
        Assert.Equal(new[] { "conv2d", "relu", "flatten", "linear", "linear" }, network.Layers.Select(l => l.Kind));
        Assert.Equal(new Window2d(3, 2, 2, 1, 1, 0), ((Conv2dLayer)network.Layers[0]).Window);
        Assert.All(((LinearLayer)network.Layers[4]).Bias, b => Assert.Equal(0f, b));
        model.to(float32);
        AssertSameOutputs(model, network, new long[] { 5, 2, 9, 9 }, 1e-5);
    }

    [Fact]
    public void A_sequential_that_starts_with_a_linear_layer_takes_flat_features()
    {
        manual_seed(8);
        using var model = nn.Sequential(nn.Linear(20, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4));
        UserModels.Prepare(model, sparsity: 0.8, new long[] { 32, 20 }, seed: 9);
        var network = SequentialNetworks.FromSequential(model, 20, 1, 1);
        Assert.Equal(new[] { "flatten", "linear", "relu", "linear" }, network.Layers.Select(l => l.Kind));
        AssertSameOutputs(model, network, new long[] { 6, 20 }, 1e-5);
    }

    [Fact]
    public void Nested_sequentials_keep_their_state_dict_names()
    {
        using var model = nn.Sequential(
            ("features", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())),
            ("flatten", nn.Flatten()),
            ("head", nn.Linear(2 * 4 * 4, 3)));
        model.eval();
        var network = SequentialNetworks.FromSequential(model, 1, 6, 6);
        Assert.Equal(model.state_dict().Keys, network.Parameters().Select(p => p.Name));
        AssertSameOutputs(model, network, new long[] { 2, 1, 6, 6 }, 1e-6);
    }

    public static TheoryData<string, string, string> Unsupported => new()
    {
        { "gelu", "'2' (GELU)", "not supported" },
        { "dilation", "'0' (Conv2d)", "dilation (2, 2)" },
        { "groups", "'0' (Conv2d)", "groups=2" },
        { "reflect", "'0' (Conv2d)", "padding_mode Reflect" },
        { "batchnorm after relu", "'2' (BatchNorm2d)", "follows relu" },
        { "batchnorm first", "'0' (BatchNorm2d)", "follows the input" },
        { "batchnorm1d after conv", "'1' (BatchNorm1d)", "follows conv2d '0'" },
        { "batch statistics", "'1' (BatchNorm2d)", "track_running_stats=False" },
        { "ceil mode", "'1' (MaxPool2d)", "ceil_mode=True" },
        { "count_include_pad", "'1' (AvgPool2d)", "count_include_pad=False" },
        { "divisor", "'1' (AvgPool2d)", "divisor_override=2" },
        { "flatten dims", "'1' (Flatten)", "start_dim=2" },
        { "nested gelu", "'block.1' (GELU)", "not supported" },
    };

    private static Sequential Build(string which) => which switch
    {
        "gelu" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.GELU()),
        "dilation" => nn.Sequential(nn.Conv2d(1, 2, 3, dilation: 2)),
        "groups" => nn.Sequential(nn.Conv2d(2, 2, 3, groups: 2)),
        "reflect" => nn.Sequential(nn.Conv2d(1, 2, 3, padding: 1, padding_mode: TorchSharp.PaddingModes.Reflect)),
        "batchnorm after relu" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2)),
        "batchnorm first" => nn.Sequential(nn.BatchNorm2d(1), nn.Conv2d(1, 2, 3)),
        "batchnorm1d after conv" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm1d(2)),
        "batch statistics" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats: false)),
        "ceil mode" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, ceil_mode: true)),
        "count_include_pad" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2, padding: 1, count_include_pad: false)),
        "divisor" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2, divisor_override: 2)),
        "flatten dims" => nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(start_dim: 2)),
        "nested gelu" => nn.Sequential(("block", nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU()))),
        _ => throw new ArgumentOutOfRangeException(nameof(which)),
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void An_unsupported_layer_is_a_one_line_error_naming_it(string which, string layer, string why)
    {
        using var model = Build(which);
        var error = Assert.Throws<NotSupportedException>(() => SequentialNetworks.FromSequential(model, 2, 8, 8));
        Assert.Contains($"layer {layer}", error.Message);
        Assert.Contains(why, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        if (why == "not supported") Assert.Contains(SequentialNetworks.SupportedLayers, error.Message);
    }

    [Fact]
    public void A_layer_that_does_not_fit_its_input_is_an_error_naming_it()
    {
        using var model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(10, 2));
        var error = Assert.Throws<InvalidOperationException>(() => SequentialNetworks.FromSequential(model, 1, 6, 6));
        Assert.Contains("linear '2'", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
