using TorchSharp.Modules;
using Topiary.Quantization;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Quantization;

public class QuantizationAwareTrainingTests
{
    [Fact]
    public void The_gradient_is_taken_at_the_quantized_weights_and_the_float_weights_are_restored()
    {
        var scheme = new QuantizationScheme(4);
        var generator = new Generator(5);
        using var weight = new Parameter(randn(new long[] { 3, 4 }, generator: generator));
        using var bias = new Parameter(randn(new long[] { 3 }, generator: generator));
        using var x = randn(new long[] { 8, 4 }, generator: generator);
        using var target = randn(new long[] { 8, 3 }, generator: generator);
        var before = weight.detach().clone();
        Tensor Loss(Tensor w) => nn.functional.linear(x, w, bias).sub(target).square().mean();
        var closure = ObjectiveClosure.Of(new[] { weight, bias }, () => Loss(weight));

        var qat = new QuantizationAwareTraining(scheme);
        using var loss = qat.ComputeGradients(closure, strength: 1);

        // Reference: the same loss with the weight replaced by Q(w) as a leaf; the STE hands its gradient to w unchanged
        // (s = max|w|/q clips nothing).
        using var scales = FakeQuantization.Scales(before, scheme);
        using var quantized = FakeQuantization.Quantize(before, scales, scheme).requires_grad_();
        using var reference = Loss(quantized);
        reference.backward();
        Assert.Equal(reference.item<float>(), loss.item<float>());
        Assert.Equal(quantized.grad!.data<float>().ToArray(), weight.grad!.data<float>().ToArray());
        Assert.Equal(before.data<float>().ToArray(), weight.data<float>().ToArray());
        Assert.Equal(1, closure.Passes);
        Assert.True(qat.AppliesTo(weight));
        Assert.False(qat.AppliesTo(bias));
    }

    [Fact]
    public void A_partial_strength_adds_that_share_of_the_quantization_noise()
    {
        var scheme = new QuantizationScheme(2); // levels −1, 0, 1: much noise
        using var weight = new Parameter(tensor(new float[] { 0.9f, 0.2f, -0.6f, 1f }, new long[] { 1, 4 }));
        Tensor? seen = null;
        var closure = ObjectiveClosure.Of(new[] { weight }, () =>
        {
            seen = weight.detach().clone();
            return weight.sum();
        });
        using var _ = new QuantizationAwareTraining(scheme).ComputeGradients(closure, strength: 0.25);
        // Q(w) = [1, 0, −1, 1]; w + 0.25·(Q(w) − w).
        var expected = new[] { 0.9f + 0.25f * 0.1f, 0.2f - 0.25f * 0.2f, -0.6f + 0.25f * -0.4f, 1f };
        var actual = seen!.data<float>().ToArray();
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizationAwareTraining(scheme).ComputeGradients(closure, strength: 2));
    }

    [Fact]
    public void The_catalogue_builds_it_from_a_spec()
    {
        var term = RegularizerSpec.Parse("qat:1:bits=4:channel=0").Single();
        var qat = Assert.IsType<QuantizationAwareTraining>(term.Regularizer);
        Assert.Equal(new QuantizationScheme(4, QuantizationGranularity.PerTensor), qat.Scheme);
        Assert.Equal(QuantizationScheme.Int8, Assert.IsType<QuantizationAwareTraining>(RegularizerSpec.Parse("qat").Single().Regularizer).Scheme);
        Assert.ThrowsAny<Exception>(() => RegularizerSpec.Parse("qat:1:bits=12"));
        Assert.ThrowsAny<Exception>(() => RegularizerSpec.Parse("qat,sam"));
        Assert.Contains("at most 1", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("qat:2")).Message);
    }
}
