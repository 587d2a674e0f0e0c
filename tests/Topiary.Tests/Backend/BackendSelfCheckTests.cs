using Topiary.Backend;
using Topiary.Models;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Backend;

public class BackendSelfCheckTests
{
    [Fact]
    public void After_the_self_check_conv_gradients_match_an_independent_float64_computation()
    {
        var status = TorchBackend.EnsureVerified();
        Assert.True(status.Trusted, $"self-check outcome {status.Outcome}, error {status.MaxRelativeError}");
        foreach (var (batch, channels, size, filters) in new[] { (100L, 20L, 12L, 50L), (100L, 1L, 28L, 20L), (7L, 3L, 9L, 4L) })
        {
            var result = ConvGradientCheck.Compare(batch, channels, size, filters, 5, seed: 99);
            Assert.True(result.WeightGradError <= 1e-4, $"weight gradient error {result.WeightGradError} for {batch}x{channels}x{size}");
            Assert.True(result.InputGradError <= 1e-4, $"input gradient error {result.InputGradError} for {batch}x{channels}x{size}");
            Assert.True(result.OutputError <= 1e-4, $"output error {result.OutputError}");
        }
    }

    [Fact]
    public void The_check_catches_a_convolution_whose_backward_is_wrong()
    {
        // A forward that is right but whose backward scales the gradients by 1.001, as a faulty kernel would.
        static Tensor FaultyBackward(Tensor x, Tensor w)
        {
            var y = nn.functional.conv2d(x, w);
            return y.mul(1.001).sub(y.detach().mul(0.001));
        }
        var result = ConvGradientCheck.Compare(10, 3, 12, 4, 5, seed: 1, FaultyBackward);
        Assert.True(result.OutputError <= 1e-5, $"forward should agree, error {result.OutputError}");
        Assert.True(result.WeightGradError > TorchBackend.Tolerance);
        Assert.True(result.InputGradError > TorchBackend.Tolerance);
        var nan = ConvGradientCheck.Compare(10, 3, 12, 4, 5, seed: 1, (x, w) => nn.functional.conv2d(x, w).mul(full(1, float.NaN)));
        Assert.Equal(double.PositiveInfinity, nan.MaxError);
    }

    [Fact]
    public void OneDnn_can_be_switched_off_and_on_and_the_check_passes_both_ways()
    {
        var original = TorchBackend.EnsureVerified().OneDnnEnabled;
        try
        {
            Assert.True(TorchBackend.TrySetOneDnn(false), "this libtorch does not export setUserEnabledMkldnn");
            var off = TorchBackend.EnsureVerified();
            Assert.False(off.OneDnnEnabled);
            Assert.True(ConvGradientCheck.Compare(100, 20, 12, 50, 5, seed: 3).MaxError <= 1e-4);
        }
        finally
        {
            TorchBackend.TrySetOneDnn(original);
        }
        Assert.Equal(original, TorchBackend.EnsureVerified().OneDnnEnabled);
    }

    [Fact]
    public void Three_hundred_Adam_steps_of_LeNet5_stay_finite()
    {
        TorchBackend.EnsureVerified();
        manual_seed(5);
        using var model = new LeNet5();
        using var optimizer = new AdamOptimizer(model.parameters());
        var generator = new Generator(17);
        var prototypes = randn(10, 1, 28, 28, generator: generator);
        for (var step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            var labels = randint(0, 10, new long[] { 100 }, generator: generator);
            var images = prototypes.index_select(0, labels).add(randn(100, 1, 28, 28, generator: generator));
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(images), labels);
            loss.backward();
            optimizer.Step();
            Assert.True(double.IsFinite(loss.item<float>()), $"loss is {loss.item<float>()} at step {step}");
        }
        foreach (var p in model.parameters()) Assert.True(p.isfinite().all().item<bool>());
    }
}
