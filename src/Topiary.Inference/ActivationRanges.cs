namespace Topiary.Inference;

/// <summary>
/// The calibrated <see cref="ActivationRange"/> of the input of every weighted layer of a <see cref="SequentialNetwork"/>,
/// by the layer's name (<c>conv1</c>, <c>fc2</c>; the first one's input is the network input): what
/// <see cref="ActivationCalibration"/> finds and what <see cref="QdqOnnxExporter"/> turns into each layer's
/// QuantizeLinear scale and zero point.
/// </summary>
public sealed class ActivationRanges
{
    private readonly Dictionary<string, ActivationRange> ranges;

    /// <summary>The ranges by weighted layer name (copied).</summary>
    public ActivationRanges(IReadOnlyDictionary<string, ActivationRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        this.ranges = new Dictionary<string, ActivationRange>(ranges, StringComparer.Ordinal);
    }

    /// <summary>The ranges by weighted layer name.</summary>
    public IReadOnlyDictionary<string, ActivationRange> Layers => ranges;

    /// <summary>The range of the input of the layer named <paramref name="layer"/>.</summary>
    /// <exception cref="KeyNotFoundException">No range has that name.</exception>
    public ActivationRange this[string layer] => ranges[layer];

    /// <summary>
    /// Checks that the ranges are those of <paramref name="network"/>: one per weighted layer and no other.
    /// </summary>
    /// <exception cref="ArgumentException">A weighted layer has no range, or a range names no weighted layer; the message names it.</exception>
    internal void CheckCovers(SequentialNetwork network, string parameterName)
    {
        var names = network.Layers.OfType<WeightedLayer>().Select(l => l.Name).ToList();
        if (names.FirstOrDefault(n => !ranges.ContainsKey(n)) is { } missing)
            throw new ArgumentException($"the activation ranges have no range for layer '{missing}': calibrate this network with ActivationCalibration.Observe", parameterName);
        if (ranges.Keys.FirstOrDefault(n => !names.Contains(n)) is { } extra)
            throw new ArgumentException($"the activation ranges name '{extra}', which is no weighted layer of the network: they were calibrated on another network", parameterName);
    }

    /// <inheritdoc />
    public override string ToString() => string.Join(", ", ranges.Select(r => $"{r.Key} {r.Value}"));
}
