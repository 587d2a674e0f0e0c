namespace Topiary.Inference;

/// <summary>The shapes of one weighted layer before and after <see cref="NetworkSimplifier.Simplify"/>.</summary>
public sealed record SimplifiedLayer(string Name, string Kind, long[] ShapeBefore, long[] ShapeAfter);

/// <summary>A simplified network and what changed.</summary>
public sealed record SimplifyResult(SequentialNetwork Network, IReadOnlyList<SimplifiedLayer> Layers);

/// <summary>
/// Structured removal of dead units in sequential MLPs and CNNs (in the spirit of EIDOSLAB's <c>simplify</c>):
/// a neuron or filter whose weight row is all zero outputs the constant b (per pixel, for a filter), so it is removed
/// and its constant after the following ReLU/max-pool/flatten, c = relu(b) or b, is folded into the next weighted
/// layer's bias: b′ₒ += c · Σ W[o, columns of the unit]. A unit whose input columns in the next layer are all zero
/// is removed as well (it contributes nothing). Repeats until nothing changes. The network's inputs and the last
/// layer's outputs are kept, and every layer keeps at least one unit. The result is a smaller dense network with
/// the same outputs up to float rounding of the folded biases.
/// <para>
/// A dead unit's constant is the same everywhere through ReLU, max-pooling (padding never wins) and unpadded average
/// pooling, whatever the strides, but not through an average pooling with padding (padded zeros pull the border
/// means towards 0), and a convolution with zero padding sees it only inside the image (its border outputs get part
/// of c·ΣW). In those two cases a dead unit with a non-zero constant is kept, since no bias can stand in for it;
/// one whose constant is 0, or that the next layer does not use, is still removed.
/// </para>
/// </summary>
public static class NetworkSimplifier
{
    /// <summary>Removes dead units; the input network is not modified.</summary>
    /// <exception cref="ArgumentException">Between two weighted layers there is something other than ReLU, pooling or flatten.</exception>
    public static SimplifyResult Simplify(SequentialNetwork network)
    {
        network.Shapes();
        var layers = network.Layers.ToList();
        var before = layers.Select(l => (l as WeightedLayer)?.WeightShape).ToList();
        var weighted = Enumerable.Range(0, layers.Count).Where(i => layers[i] is WeightedLayer).ToList();
        for (var changed = true; changed;)
        {
            changed = false;
            for (var p = 0; p + 1 < weighted.Count; p++)
                changed |= RemoveDeadUnits(network, layers, weighted[p], weighted[p + 1]);
        }
        var result = network with { Layers = layers };
        result.Shapes();
        var report = weighted.Select(i => new SimplifiedLayer(Name(layers[i]), layers[i].Kind, before[i]!, ((WeightedLayer)layers[i]).WeightShape)).ToList();
        return new SimplifyResult(result, report);
    }

    private static bool RemoveDeadUnits(SequentialNetwork original, List<NetworkLayer> layers, int first, int second)
    {
        var shapes = (original with { Layers = layers }).Shapes();
        var between = layers.Skip(first + 1).Take(second - first - 1).ToList();
        if (between.Any(l => l is not (ReluLayer or MaxPool2dLayer or AvgPool2dLayer or FlattenLayer)))
            throw new ArgumentException($"cannot simplify across {string.Join(", ", between.Select(l => l.Kind))} between {Name(layers[first])} and {Name(layers[second])}");
        var relu = between.Any(l => l is ReluLayer);
        // Where a dead unit's constant would not reach the next layer the same at every pixel (see the class remarks).
        var constantVaries = between.Any(l => l is AvgPool2dLayer { Window: { PaddingHeight: > 0 } or { PaddingWidth: > 0 } })
            || layers[second] is Conv2dLayer { Window: { PaddingHeight: > 0 } or { PaddingWidth: > 0 } };
        float Constant(float bias) => relu ? Math.Max(0f, bias) : bias;
        // Each unit of the first layer feeds `span` consecutive inputs of the second: H·W after a flatten, else 1.
        var flattenAt = layers.FindIndex(first + 1, second - first - 1, l => l is FlattenLayer);
        var span = flattenAt < 0 ? 1 : (int)(shapes[flattenAt - 1].Height * (long)shapes[flattenAt - 1].Width);
        var producer = new UnitView(layers[first]);
        var consumer = new UnitView(layers[second]);
        var units = producer.Rows;

        var remove = new bool[units];
        for (var g = 0; g < units; g++)
            remove[g] = consumer.GroupIsZero(g, span) || (producer.RowIsZero(g) && (!constantVaries || Constant(producer.Bias[g]) == 0f));
        if (remove.All(r => r)) remove[0] = false;
        if (!remove.Contains(true)) return false;

        var bias = consumer.Bias.Select(b => (double)b).ToArray();
        for (var g = 0; g < units; g++)
        {
            if (!remove[g] || !producer.RowIsZero(g)) continue;
            var constant = Constant(producer.Bias[g]);
            if (constant == 0f) continue;
            for (var o = 0; o < consumer.Rows; o++) bias[o] += constant * consumer.GroupSum(o, g, span);
        }
        var keep = Enumerable.Range(0, units).Where(g => !remove[g]).ToArray();
        layers[first] = producer.KeepRows(keep);
        layers[second] = consumer.KeepGroups(keep, span, bias.Select(b => (float)b).ToArray());
        return true;
    }

    private static string Name(NetworkLayer layer) => (layer as WeightedLayer)?.Name ?? layer.Kind;

    /// <summary>A weighted layer seen as rows (output units) × input groups (a group = one input channel's columns).</summary>
    private sealed class UnitView(NetworkLayer layer)
    {
        private readonly float[] weight = ((WeightedLayer)layer).Weight;
        // For a convolution one input channel is kh·kw columns; for a linear layer the caller's span says how many.
        private readonly int channelColumns = ChannelColumns(layer);
        private readonly int rowLength = layer is LinearLayer l ? l.InFeatures : ((Conv2dLayer)layer).InChannels * ChannelColumns(layer);

        public float[] Bias { get; } = ((WeightedLayer)layer).Bias;
        public int Rows => Bias.Length;

        public bool RowIsZero(int row) => AllZero(weight.AsSpan(row * rowLength, rowLength));

        public bool GroupIsZero(int group, int span)
        {
            var width = span * channelColumns;
            for (var o = 0; o < Rows; o++)
                if (!AllZero(weight.AsSpan(o * rowLength + group * width, width))) return false;
            return true;
        }

        public double GroupSum(int row, int group, int span)
        {
            var width = span * channelColumns;
            double sum = 0;
            foreach (var w in weight.AsSpan(row * rowLength + group * width, width)) sum += w;
            return sum;
        }

        public NetworkLayer KeepRows(int[] keep)
        {
            var kept = new float[keep.Length * rowLength];
            for (var i = 0; i < keep.Length; i++) weight.AsSpan(keep[i] * rowLength, rowLength).CopyTo(kept.AsSpan(i * rowLength));
            var bias = keep.Select(r => Bias[r]).ToArray();
            return layer switch
            {
                LinearLayer l => l with { OutFeatures = keep.Length, Weight = kept, Bias = bias },
                Conv2dLayer c => c with { OutChannels = keep.Length, Weight = kept, Bias = bias },
                _ => throw new InvalidOperationException(),
            };
        }

        public NetworkLayer KeepGroups(int[] keep, int span, float[] bias)
        {
            var width = span * channelColumns;
            var newRowLength = keep.Length * width;
            var kept = new float[Rows * newRowLength];
            for (var o = 0; o < Rows; o++)
                for (var i = 0; i < keep.Length; i++)
                    weight.AsSpan(o * rowLength + keep[i] * width, width).CopyTo(kept.AsSpan(o * newRowLength + i * width));
            return layer switch
            {
                LinearLayer l => l with { InFeatures = newRowLength, Weight = kept, Bias = bias },
                Conv2dLayer c => c with { InChannels = keep.Length, Weight = kept, Bias = bias },
                _ => throw new InvalidOperationException(),
            };
        }

        private static int ChannelColumns(NetworkLayer layer) => layer is Conv2dLayer c ? c.Window.KernelHeight * c.Window.KernelWidth : 1;

        // IEEE comparison on purpose: a pruned −0.0 weight is as dead as +0.0.
        private static bool AllZero(ReadOnlySpan<float> values)
        {
            foreach (var v in values) if (v != 0f) return false;
            return true;
        }
    }
}
