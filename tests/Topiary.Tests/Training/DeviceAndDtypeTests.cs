using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Tests.Support;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>Every method in float64 and on CUDA: the library makes its tensors where the parameters live, in their dtype.</summary>
public class DeviceAndDtypeTests
{
    private static readonly string[] MethodNames = ["relevance", "l2", "l1", "none", "lobster", "hypersparse", "gmp", "spectral", "scad"];

    public static TheoryData<string> Methods() => new(MethodNames);

    private static void PruneAFewSteps(Sequential model, string methodName, Device device, ScalarType dtype)
    {
        var x = randn(new long[] { 16, 1, 28, 28 }, dtype: dtype, device: device, generator: new Generator(5));
        var y = randint(0, 10, new long[] { 16 }, generator: new Generator(6)).to(device);
        double Validate()
        {
            using var _ = no_grad();
            return model.forward(x).argmax(1).eq(y).to(float64).mean().item<double>();
        }
        var method = PruningMethodRegistry.Create(methodName);
        if (method is IterativeCropPruning crop) method = crop with { CropFraction = 0.3 };
        var settings = new PruningSessionSettings
        {
            Bound = new MetricFloor(-1), StepsPerEpoch = 2, TotalSteps = 12, EvaluationInterval = 2,
            Validator = () => new EvaluationResult(Validate(), nn.functional.cross_entropy(model.forward(x), y).item<double>()),
        };
        using var session = new PruningSession(model, method, settings);
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        session.Attach(optimizer);
        for (var step = 0; step < 12; step++)
        {
            optimizer.zero_grad();
            session.Backward(x, y, (o, t) => nn.functional.cross_entropy(o, t));
            optimizer.step();
            session.AfterStep();
            if (session.Step % 2 == 0) session.Evaluate(settings.Validator());
        }
        Assert.All(model.parameters(), p =>
        {
            Assert.Equal(dtype, p.dtype);
            Assert.Equal(device.type, p.device.type);
            Assert.True(p.isfinite().all().item<bool>());
        });
        foreach (var e in session.Masks.Entries)
        {
            Assert.Equal(device.type, e.Mask.device.type);
            Assert.True(e.Parameter.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{methodName}: {e.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_prunes_a_float64_model_and_keeps_it_float64(string method)
    {
        manual_seed(1);
        using var model = UserCnn.Create();
        model.to(float64);
        PruneAFewSteps(model, method, CPU, float64);
    }

    [CudaFact]
    public void Every_method_prunes_a_model_on_the_gpu()
    {
        foreach (var method in MethodNames)
        {
            manual_seed(1);
            using var model = UserCnn.Create();
            model.to(CUDA);
            PruneAFewSteps(model, method, CUDA, float32);
        }
    }
}
