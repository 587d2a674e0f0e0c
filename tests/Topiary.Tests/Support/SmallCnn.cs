using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Tests.Support;

/// <summary>
/// A user's model as the "prune your own model" story has it: conv → BatchNorm2d → ReLU → max-pool → flatten →
/// linear, on 8×8 single-channel images. Its BatchNorm carries buffers (running statistics, an int64 step count)
/// that a model file must keep.
/// </summary>
internal sealed class SmallCnn : Module<Tensor, Tensor>
{
    /// <summary>The name it is saved and registered under in tests.</summary>
    public const string ArchitectureName = "smallcnn-test";

    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Linear fc;

    public SmallCnn(int channels = 4, int classes = 3) : base("smallcnn")
    {
        conv = Conv2d(1, channels, 3, padding: 1);
        bn = BatchNorm2d(channels);
        fc = Linear(channels * 4 * 4, classes);
        RegisterComponents();
    }

    /// <summary>The config its factory reads.</summary>
    public static JsonObject Config(int channels = 4, int classes = 3, bool float64 = false) =>
        new() { ["channels"] = channels, ["classes"] = classes, ["float64"] = float64 };

    /// <summary>Builds the model a <see cref="Config"/> describes.</summary>
    public static SmallCnn FromConfig(JsonObject config)
    {
        var model = new SmallCnn(config["channels"]!.GetValue<int>(), config["classes"]!.GetValue<int>());
        if (config["float64"]?.GetValue<bool>() == true) model.to(float64);
        return model;
    }

    /// <summary>A model after a few SGD steps on random data, so that its running statistics are not the defaults.</summary>
    public static SmallCnn Trained(int seed, int channels = 4, ScalarType dtype = ScalarType.Float32)
    {
        manual_seed(seed);
        var model = new SmallCnn(channels);
        model.to(dtype);
        model.train();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.forward(randn([16, 1, 8, 8], dtype: dtype)), randint(0, 3, [16]));
            loss.backward();
            optimizer.step();
        }
        model.eval();
        return model;
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.max_pool2d(functional.relu(bn.call(conv.call(input))), 2);
        return fc.call(x.flatten(1)).MoveToOuterDisposeScope();
    }
}
