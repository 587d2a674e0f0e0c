using Topiary.Data;
using static TorchSharp.torch;

namespace Topiary.Tests.Data;

public class ImageCorruptionTests
{
    [Fact]
    public void Corruptions_are_deterministic_under_a_seed_and_stay_in_the_unit_interval()
    {
        using var scope = NewDisposeScope();
        var pixels = rand(6, 1, 28, 28, generator: new Generator(1));
        foreach (var corruption in ImageCorruption.All)
        {
            var a = corruption.Apply(pixels, 5);
            Assert.True(a.eq(corruption.Apply(pixels, 5)).all().item<bool>(), $"{corruption} differs under the same seed");
            Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
            Assert.Equal(pixels.shape, a.shape);
        }
        var noise = new ImageCorruption(CorruptionKind.GaussianNoise, 3);
        Assert.False(noise.Apply(pixels, 5).eq(noise.Apply(pixels, 6)).all().item<bool>());
        Assert.Equal(15, ImageCorruption.All.Count);
    }

    [Fact]
    public void Each_corruption_does_what_its_parameter_says()
    {
        using var scope = NewDisposeScope();
        // Noise on mid-grey (no clipping within 5σ): the deviation is σ.
        var grey = full(20, 1, 28, 28, 0.5f);
        foreach (var severity in new[] { 1, 5 })
        {
            var noise = new ImageCorruption(CorruptionKind.GaussianNoise, severity);
            var sd = noise.Apply(grey, 3).sub(0.5).std().item<float>();
            Assert.InRange(sd, noise.Parameter * 0.97, noise.Parameter * 1.03);
        }
        // Contrast: (x − m)·c + m exactly, m each image's mean.
        var pixels = rand(3, 1, 8, 8, generator: new Generator(2));
        var contrast = new ImageCorruption(CorruptionKind.Contrast, 5);
        var m = pixels.mean([1, 2, 3], keepdim: true);
        Assert.True(contrast.Apply(pixels, 0).allclose(pixels.sub(m).mul(0.15).add(m), 1e-6, 1e-6));
        // Blur: a constant image stays constant; a centred dot becomes the normalized 2-D Gaussian.
        var blur = new ImageCorruption(CorruptionKind.GaussianBlur, 5);
        Assert.True(blur.Apply(grey, 0).allclose(grey, 1e-6, 1e-6));
        var dot = zeros(1, 1, 15, 15);
        dot[0, 0, 7, 7] = 1;
        var blurred = blur.Apply(dot, 0);
        var offsets = arange(-3, 4, dtype: float64);
        var g = offsets.square().div(-2.0).exp();
        g = g.div(g.sum());
        var expected = g.unsqueeze(1).mul(g.unsqueeze(0)).to(float32);
        Assert.True(blurred[0, 0, TensorIndex.Slice(4, 11), TensorIndex.Slice(4, 11)].allclose(expected, 1e-6, 1e-7));
        Assert.Equal(1, blurred.sum().item<float>(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageCorruption(CorruptionKind.Contrast, 6).Apply(pixels, 0));
    }
}
