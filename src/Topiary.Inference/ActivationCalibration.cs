using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// Calibrates the activation quantization of a QDQ export: runs calibration samples through the float network
/// (<see cref="TorchNetwork"/>, libtorch's dense operators) and records, per weighted layer, the smallest and largest
/// value of the layer's input over all samples, widened to hold 0 (<see cref="ActivationRange"/>). This is ONNX Runtime's
/// MinMax calibration without moving averages: every observed input then quantizes without clipping, each uint8 step
/// s = (max − min)/255.
/// </summary>
public static class ActivationCalibration
{
    /// <summary>The input range of every weighted layer over <paramref name="count"/> samples.</summary>
    /// <param name="network">The float network, as it will be exported.</param>
    /// <param name="samples">The samples one after another, each [C, H, W] of the network input, row-major.</param>
    /// <param name="count">Number of samples (at least 1).</param>
    /// <param name="batchSize">Samples per forward pass (at least 1).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException"><paramref name="samples"/> is not <paramref name="count"/> samples, or a layer's input has a value that is not finite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static ActivationRanges Observe(SequentialNetwork network, ReadOnlySpan<float> samples, int count, int batchSize = 256,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var shape = network.InputShape;
        if (samples.Length != count * shape.Size)
            throw new ArgumentException($"{samples.Length} values are not {count} samples of {shape}", nameof(samples));
        using var input = empty(count, shape.Channels, shape.Height, shape.Width);
        samples.CopyTo(NativeFloats.Of(input));
        return Observe(network, input, batchSize, cancellationToken);
    }

    /// <summary>The input range of every weighted layer over the samples of <paramref name="samples"/> ([count, C, H, W], float32).</summary>
    /// <exception cref="ArgumentException"><paramref name="samples"/> holds no sample or does not have the network's input shape, or a layer's input has a value that is not finite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static ActivationRanges Observe(SequentialNetwork network, Tensor samples, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var shape = network.InputShape;
        if (samples.dim() != 4 || samples.shape[0] < 1 || samples.shape[1] != shape.Channels || samples.shape[2] != shape.Height || samples.shape[3] != shape.Width)
            throw new ArgumentException($"samples of shape [{string.Join(", ", samples.shape)}] are not a batch of {shape}", nameof(samples));
        var count = samples.shape[0];
        var ranges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        using var torchNetwork = new TorchNetwork(network);
        for (long start = 0; start < count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = Math.Min(batchSize, count - start);
            using var scope = NewDisposeScope();
            torchNetwork.Forward(samples.narrow(0, start, batch).to(float32), (layer, x) =>
            {
                var (min, max) = MinMax(NativeFloats.Of(x.contiguous()));
                if (!float.IsFinite(min) || !float.IsFinite(max))
                    throw new ArgumentException($"the input of layer '{layer.Name}' has values that are not finite (samples {start} to {start + batch - 1})", nameof(samples));
                ranges[layer.Name] = ranges.TryGetValue(layer.Name, out var seen) ? seen.Including(min, max) : new ActivationRange(min, max);
                return x;
            });
        }
        return new ActivationRanges(ranges);
    }

    /// <summary>The smallest and largest value; NaN where any value is NaN.</summary>
    private static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) return (float.NaN, float.NaN);
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }
}
