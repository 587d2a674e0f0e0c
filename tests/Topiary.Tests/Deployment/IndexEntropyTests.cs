using Topiary.Inference;

namespace Topiary.Tests.Deployment;

public class IndexEntropyTests
{
    [Fact]
    public void Evenly_spaced_non_zeros_need_no_bits() =>
        Assert.Equal(0, IndexEntropy.GapBytes(Enumerable.Range(0, 400).Select(i => i % 4 == 3 ? 1f : 0f).ToArray()));

    [Fact]
    public void Two_equally_frequent_gaps_need_one_bit_each()
    {
        // Non-zeros at 0, 1, 3, 4, 6, 7, …: gaps 1 (the first, from −1), 1, 2, 1, 2, 1, … — 1 after every 2.
        var values = new float[600];
        for (var i = 0; i < values.Length; i++) values[i] = i % 3 == 2 ? 0f : 1f;
        var nonzero = values.Count(v => v != 0f);
        var ones = nonzero / 2 + 1; // the leading gap of 1 is one extra
        var twos = nonzero - ones;
        double p1 = (double)ones / nonzero, p2 = (double)twos / nonzero;
        var expectedBits = -(ones * Math.Log2(p1) + twos * Math.Log2(p2));
        Assert.Equal(expectedBits / 8, IndexEntropy.GapBytes(values), 9);
        Assert.InRange(IndexEntropy.GapBytes(values), nonzero / 8.0 * 0.99, nonzero / 8.0 * 1.01);
    }

    [Fact]
    public void An_all_zero_tensor_needs_nothing() => Assert.Equal(0, IndexEntropy.GapBytes(new float[10]));
}
