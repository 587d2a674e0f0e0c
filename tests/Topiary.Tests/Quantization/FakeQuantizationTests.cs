using Topiary.Inference;
using Topiary.Quantization;
using static TorchSharp.torch;

namespace Topiary.Tests.Quantization;

public class FakeQuantizationTests
{
    [Fact]
    public void Quantize_equals_round_clamp_scale_per_channel()
    {
        var scheme = new QuantizationScheme(4); // levels −7 … 7
        using var w = tensor(new float[] { 0.7f, -0.35f, 0.05f, 0f, /* row 2 */ -1.4f, 0.3f, 0.1f, 0.2f }, new long[] { 2, 4 });
        using var scales = FakeQuantization.Scales(w, scheme);
        Assert.Equal(new long[] { 2, 1 }, scales.shape);
        var s = scales.data<float>().ToArray();
        Assert.Equal(0.7f / 7, s[0]);
        Assert.Equal(1.4f / 7, s[1]);
        using var q = FakeQuantization.Quantize(w, scales, scheme);
        // By hand: w/s = [7, −3.5, 0.5, 0 | −7, 1.5, 0.5, 1]; round half to even = [7, −4, 0, 0 | −7, 2, 0, 1].
        var expected = new[] { 7 * s[0], -4 * s[0], 0f, 0f, -7 * s[1], 2 * s[1], 0f, 1 * s[1] };
        Assert.Equal(expected, q.data<float>().ToArray());
    }

    [Fact]
    public void Per_tensor_scale_is_the_largest_magnitude_over_q()
    {
        var scheme = new QuantizationScheme(8, QuantizationGranularity.PerTensor);
        using var w = tensor(new float[] { 0.5f, -2.54f, 1f, 0.01f }, new long[] { 2, 2 });
        using var scales = FakeQuantization.Scales(w, scheme);
        Assert.Equal(new long[] { 1, 1 }, scales.shape);
        Assert.Equal(2.54f / 127, scales.item<float>());
        using var levels = FakeQuantization.Levels(w, scales, scheme);
        Assert.Equal(new float[] { MathF.Round(0.5f / (2.54f / 127), MidpointRounding.ToEven), -127, 50, 0 }, levels.data<float>().ToArray());
    }

    [Fact]
    public void Values_outside_the_range_are_clamped_to_the_largest_level()
    {
        var scheme = new QuantizationScheme(8, QuantizationGranularity.PerTensor);
        using var w = tensor(new float[] { 3f, -3f, 0.5f }, new long[] { 1, 3 });
        using var scales = full(new long[] { 1, 1 }, 1f / 127); // range ±1
        Assert.Equal(new float[] { 127, -127, MathF.Round(0.5f * 127) }, FakeQuantization.Levels(w, scales, scheme).data<float>().ToArray());
    }

    [Fact]
    public void Straight_through_gradient_is_one_inside_the_range_and_zero_outside()
    {
        var scheme = new QuantizationScheme(8, QuantizationGranularity.PerTensor);
        using var w = tensor(new float[] { 0.3f, -0.99f, 1.5f, -2f, 0f, 1.003f }, new long[] { 2, 3 }).requires_grad_();
        using var scales = full(new long[] { 1, 1 }, 1f / 127); // range ±1 (levels ±127): 1.5 and −2 are outside, 1.003 rounds to 127 and passes
        using var y = FakeQuantization.StraightThrough(w, scales, scheme);
        using var expectedForward = FakeQuantization.Quantize(w, scales, scheme);
        Assert.Equal(expectedForward.data<float>().ToArray(), y.data<float>().ToArray());
        using var upstream = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        y.mul(upstream).sum().backward();
        Assert.Equal(new float[] { 1, 2, 0, 0, 5, 6 }, w.grad!.data<float>().ToArray());
        using var inRange = FakeQuantization.InRange(w, scales, scheme);
        Assert.Equal(new float[] { 1, 1, 0, 0, 1, 1 }, inRange.data<float>().ToArray());
    }

    [Theory]
    [InlineData(8, QuantizationGranularity.PerChannel)]
    [InlineData(8, QuantizationGranularity.PerTensor)]
    [InlineData(4, QuantizationGranularity.PerChannel)]
    public void Training_and_export_quantize_to_the_same_levels_and_zeros_stay_zeros(int bits, QuantizationGranularity granularity)
    {
        var scheme = new QuantizationScheme(bits, granularity);
        var generator = new Generator(11);
        using var w = randn(new long[] { 6, 3, 5, 5 }, generator: generator).mul(rand(new long[] { 6, 1, 1, 1 }, generator: generator));
        using var mask = rand(new long[] { 6, 3, 5, 5 }, generator: generator).gt(0.8);
        using var pruned = w.mul(mask);
        using var scales = FakeQuantization.Scales(pruned, scheme);
        var torchLevels = FakeQuantization.Levels(pruned, scales, scheme).data<float>().ToArray();
        var values = pruned.data<float>().ToArray();
        var exported = WeightQuantizer.Quantize("conv.weight", new long[] { 6, 3, 5, 5 }, values, scheme);
        Assert.Equal(torchLevels, exported.Levels.Select(l => (float)l).ToArray());
        Assert.Equal(FakeQuantization.Quantize(pruned, scales, scheme).data<float>().ToArray(), exported.Dequantize());
        for (var i = 0; i < values.Length; i++)
            if (values[i] == 0f) Assert.Equal(0, exported.Levels[i]);
        Assert.All(exported.Levels, l => Assert.InRange(l, -scheme.MaxLevel, scheme.MaxLevel));
    }

    [Fact]
    public void An_all_zero_channel_gets_scale_one_and_stays_zero()
    {
        using var w = zeros(3, 4);
        using var scales = FakeQuantization.Scales(w, QuantizationScheme.Int8);
        Assert.Equal(new float[] { 1, 1, 1 }, scales.data<float>().ToArray());
        Assert.All(FakeQuantization.Quantize(w, scales, QuantizationScheme.Int8).data<float>().ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void A_scheme_needs_two_to_eight_bits(int bits) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizationScheme(bits));
}

public class AppliedQuantizationTests
{
    [Fact]
    public void Applied_quantizes_the_weights_and_restores_them_bit_for_bit()
    {
        manual_seed(3);
        using var model = nn.Sequential(("fc1", nn.Linear(6, 5)), ("relu", nn.ReLU()), ("fc2", nn.Linear(5, 2)));
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        using (FakeQuantization.Applied(model, QuantizationScheme.Int4))
        {
            var weights = model.named_parameters().ToList();
            foreach (var (name, p) in weights)
            {
                var original = before[weights.FindIndex(w => w.name == name)];
                if (p.dim() < 2)
                {
                    Assert.Equal(original.data<float>().ToArray(), p.data<float>().ToArray());
                    continue;
                }
                using var scales = FakeQuantization.Scales(original, QuantizationScheme.Int4);
                Assert.Equal(FakeQuantization.Quantize(original, scales, QuantizationScheme.Int4).data<float>().ToArray(), p.data<float>().ToArray());
            }
        }
        var after = model.parameters().ToList();
        for (var i = 0; i < before.Count; i++) Assert.Equal(before[i].data<float>().ToArray(), after[i].data<float>().ToArray());
    }
}
