using Topiary.Backend;

namespace Topiary.Tests.Backend;

public class OwnedTensorsTests
{
    [Theory]
    [InlineData(new long[0])]
    [InlineData(new long[] { 7 })]
    [InlineData(new long[] { 3, 1, 5 })]
    public void A_copy_has_the_shape_and_values_in_libtorchs_aligned_memory_and_no_tie_to_the_array(long[] shape)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, count).Select(i => i * 0.5f - 1).ToArray();
        using var copy = OwnedTensors.Copy(values, shape);
        Assert.Equal(shape, copy.shape);
        Assert.Equal(values, copy.flatten().data<float>().ToArray());
        // 64-byte aligned, as libtorch allocates (a wrapped managed array is not, and MKL rounds by alignment).
        Assert.Equal(0, LibTorchNative.DataPointer(copy) % 64);
        values[0] = 42f;
        Assert.NotEqual(42f, copy.flatten()[0].item<float>());
    }
}
