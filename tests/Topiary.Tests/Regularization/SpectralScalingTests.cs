using TorchSharp.Modules;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class SpectralScalingTests
{
    [Theory]
    [InlineData(64, 16)]
    [InlineData(16, 64)]
    [InlineData(256, 256)]
    public void After_initialization_every_singular_value_is_the_gain_times_root_fan_out_over_fan_in(long fanOut, long fanIn)
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(randn(fanOut, fanIn));
        var kernel = new Parameter(randn(fanOut, fanIn / 4, 2, 2));
        var bias = new Parameter(randn(fanOut));
        SpectralScaling.Initialize([w, kernel, bias], gain: 0.5, generator: new Generator(1));
        var target = 0.5 * Math.Sqrt((double)fanOut / fanIn);
        foreach (var matrix in new[] { w.detach(), kernel.detach().reshape(fanOut, -1) })
        {
            var singular = linalg.svdvals(matrix.to(float64));
            Assert.True(singular.sub(target).abs().max().item<double>() < 1e-3 * target);
        }
        Assert.Equal(0, bias.detach().abs().max().item<float>());
    }

    [Fact]
    public void Two_initializations_with_different_generators_differ()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(zeros(8, 8));
        var b = new Parameter(zeros(8, 8));
        SpectralScaling.Initialize([a], generator: new Generator(1));
        SpectralScaling.Initialize([b], generator: new Generator(2));
        Assert.True(a.detach().sub(b.detach()).abs().max().item<float>() > 0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => SpectralScaling.Initialize([a], gain: 0));
    }

    [Theory]
    [InlineData(30, 10)]
    [InlineData(10, 30)]
    public void One_spectral_adam_step_has_spectral_norm_eta_times_root_fan_out_over_fan_in_along_adams_direction(long fanOut, long fanIn)
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(randn(fanOut, fanIn, dtype: float64, generator: new Generator(3)));
        var bias = new Parameter(randn(fanOut, dtype: float64, generator: new Generator(4)));
        var reference = new Parameter(w.detach().clone());
        var before = (w.detach().clone(), bias.detach().clone());
        w.grad = randn(fanOut, fanIn, dtype: float64, generator: new Generator(5));
        bias.grad = randn(fanOut, dtype: float64, generator: new Generator(6));
        reference.grad = w.grad.clone();
        using var spectral = new AdamOptimizer([w, bias], 0.03, spectralUpdates: true);
        using var adam = new AdamOptimizer([reference], 0.03);
        spectral.Step();
        adam.Step();
        var step = before.Item1.sub(w.detach());
        Assert.Equal(0.03 * Math.Sqrt((double)fanOut / fanIn), linalg.matrix_norm(step, 2).item<double>(), 10);
        var adamStep = before.Item1.sub(reference.detach());
        Assert.True(Check.MaxRelativeDifference(step.div(step.norm()), adamStep.div(adamStep.norm())) < 1e-10, "same direction as Adam's");
        Assert.Equal(0.03 * Math.Sqrt(fanOut), before.Item2.sub(bias.detach()).norm().item<double>(), 10);
    }
}
