using Microsoft.ML.OnnxRuntime;
using Topiary.Inference;
using Topiary.Quantization;
using Topiary.Tests.Support;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

public class QdqExportTests(ITestOutputHelper output)
{
    public static TheoryData<string, int, QuantizationGranularity> Cases()
    {
        var data = new TheoryData<string, int, QuantizationGranularity>();
        foreach (var network in new[] { "cnn", "mlp" })
            foreach (var bits in new[] { 8, 4 })
                foreach (var granularity in new[] { QuantizationGranularity.PerChannel, QuantizationGranularity.PerTensor })
                    data.Add(network, bits, granularity);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_runtime_runs_the_qdq_model_as_the_reference_simulation_computes_it(string kind, int bits, QuantizationGranularity granularity)
    {
        var (network, scheme, _, model) = Exported(kind, bits, granularity, seed: 11, calibrationSamples: 256);
        var file = new OnnxModelReader(model);
        const int count = 400;
        var inputs = Samples(network, count, seed: 2);

        var actual = Run(model, network, inputs, count);
        var expected = Simulate(file, network, inputs, count);

        // ONNX Runtime fuses this graph into QLinearConv and QGemm (int32 accumulation, requantization to the next
        // layer's uint8 grid) and runs the rest in float, in its own summation order. Both compute the same real
        // numbers, so they differ by float rounding, except where a value lies within that rounding of a quantization
        // boundary and lands one step apart. One step of one input of the last layer moves an output by at most
        // s_x·max|W|; a few such steps are allowed, the predictions must agree on 99% of the samples, and 99% of the
        // outputs must agree to float rounding: the file means exactly what the simulation computes. Where the int8
        // kernels may saturate (x86 without VNNI, see OnnxRuntimeInt8.MaySaturate) only the predictions are compared.
        var last = network.Layers.OfType<WeightedLayer>().Last().Name;
        var step = file[$"{last}.input_scale"].Values<float>().Single() * Dequantized(file, $"{last}.weight").Max(w => Math.Abs(w));
        var tolerance = 4 * step;
        Assert.Equal(expected.Length, actual.Length);
        var outputs = expected.Length / count;
        var agree = 0;
        var worst = 0f;
        var exact = 0;
        for (var n = 0; n < count; n++)
        {
            var e = expected.AsSpan(n * outputs, outputs);
            var a = actual.AsSpan(n * outputs, outputs);
            for (var j = 0; j < outputs; j++)
            {
                var difference = Math.Abs(e[j] - a[j]);
                if (!OnnxRuntimeInt8.MaySaturate)
                    Assert.True(difference <= tolerance, $"sample {n}, output {j}: simulation {e[j]}, ONNX Runtime {a[j]} (tolerance {tolerance})");
                worst = Math.Max(worst, difference);
                if (difference <= 1e-5f * (1 + Math.Abs(e[j]))) exact++;
            }
            if (ArgMax(e) == ArgMax(a)) agree++;
        }
        output.WriteLine($"{kind} {scheme}: largest difference {worst:G3} (tolerance {tolerance:G3}), {exact} of {expected.Length} outputs within float rounding, argmax agreement {agree}/{count}");
        if (OnnxRuntimeInt8.MaySaturate)
        {
            // Saturated int16 pair sums may move outputs by more than any rounding bound; the predictions must still agree.
            Assert.True(agree >= 0.95 * count, $"argmax agrees on {agree} of {count} samples");
            return;
        }
        Assert.True(agree >= 0.99 * count, $"argmax agrees on {agree} of {count} samples");
        Assert.True(exact >= 0.99 * expected.Length, $"only {exact} of {expected.Length} outputs agree to float rounding");
    }


    [Theory]
    [MemberData(nameof(Cases))]
    public void The_file_holds_the_weight_quantizers_levels_and_scales_the_calibrated_activations_and_the_rounded_bias(string kind, int bits, QuantizationGranularity granularity)
    {
        var (network, scheme, ranges, model) = Exported(kind, bits, granularity, seed: 12, calibrationSamples: 64);
        var file = new OnnxModelReader(model);
        var perChannel = granularity == QuantizationGranularity.PerChannel;
        foreach (var layer in network.Layers.OfType<WeightedLayer>())
        {
            var name = layer.Name;
            var range = ranges[name];
            var sx = file[$"{name}.input_scale"].Values<float>().Single();
            var z = file[$"{name}.input_zero_point"];
            Assert.Equal(OnnxModelReader.UInt8, z.DataType);
            Assert.Equal((range.Max - range.Min) / 255f, sx);
            Assert.Equal(Math.Clamp(MathF.Round(-range.Min / sx, MidpointRounding.ToEven), 0f, 255f), z.Values<byte>().Single());

            var quantized = WeightQuantizer.Quantize($"{name}.weight", layer.WeightShape, layer.Weight, scheme);
            var levels = file[$"{name}.weight_quantized"];
            Assert.Equal(OnnxModelReader.Int8, levels.DataType);
            Assert.Equal(layer.WeightShape, levels.Dims);
            var stored = levels.Values<sbyte>();
            Assert.Equal(quantized.Levels, stored);
            for (var i = 0; i < layer.Weight.Length; i++)
                if (layer.Weight[i] == 0f) Assert.Equal(0, stored[i]);
            Assert.True(quantized.Levels.Count(l => l != 0) <= layer.Weight.Count(w => w != 0f));
            Assert.All(stored, l => Assert.InRange(l, -scheme.MaxLevel, scheme.MaxLevel));
            var sw = file[$"{name}.weight_scale"];
            Assert.Equal(quantized.Scales, sw.Values<float>());
            Assert.Equal(perChannel ? new long[] { layer.OutputUnits } : Array.Empty<long>(), sw.Dims);
            Assert.All(file[$"{name}.weight_zero_point"].Values<sbyte>(), v => Assert.Equal(0, v));

            var bias = file[$"{name}.bias_quantized"];
            Assert.Equal(OnnxModelReader.Int32, bias.DataType);
            var biasScales = file[$"{name}.bias_scale"].Values<float>();
            var biasLevels = bias.Values<int>();
            for (var o = 0; o < layer.OutputUnits; o++)
            {
                var scale = sx * quantized.Scales[perChannel ? o : 0];
                Assert.Equal(scale, biasScales[perChannel ? o : 0]);
                Assert.Equal(Math.Round(layer.Bias[o] / (double)scale, MidpointRounding.ToEven), biasLevels[o]);
            }
            Assert.All(file[$"{name}.bias_zero_point"].Values<int>(), v => Assert.Equal(0, v));

            var dequantizers = file.Nodes.Where(n => n.OpType == "DequantizeLinear" && n.Inputs[0] is var input && (input == $"{name}.weight_quantized" || input == $"{name}.bias_quantized")).ToList();
            Assert.Equal(2, dequantizers.Count);
            Assert.All(dequantizers, d => Assert.Equal(perChannel ? 0L : (long?)null, d.IntAttributes.TryGetValue("axis", out var axis) ? axis : (long?)null));
            var op = file.Nodes.Single(n => n.Name == name);
            Assert.Equal(new[] { $"{name}.input_dequantized", $"{name}.weight", $"{name}.bias" }, op.Inputs);
        }
        // The layers between the weighted ones stay float, as in the float export.
        Assert.Equal(network.Layers.Count(l => l is not WeightedLayer), file.Nodes.Count(n => n.OpType is "Relu" or "MaxPool" or "Flatten"));
    }

    [Fact]
    public void Calibration_ranges_hold_every_input_of_every_weighted_layer_and_zero()
    {
        var network = Network("cnn", seed: 13);
        const int count = 150;
        var samples = Samples(network, count, seed: 4);
        var ranges = ActivationCalibration.Observe(network, samples, count, batchSize: 64);
        Assert.Equal(new[] { "conv1", "conv2", "fc1", "fc2" }, ranges.Layers.Keys.Order());
        using var scope = NewDisposeScope();
        var input = tensor(samples).reshape(count, 1, 12, 12);
        for (var i = 0; i < network.Layers.Count; i++)
        {
            if (network.Layers[i] is not WeightedLayer layer) continue;
            // The input of layer i: what the layers before it compute, run on all samples at once.
            using var prefix = new TorchNetwork(network with { Layers = network.Layers.Take(i).ToList() });
            var values = prefix.forward(input).contiguous().data<float>().ToArray();
            var range = ranges[layer.Name];
            Assert.True(range.Min <= 0f && range.Max >= 0f, $"{layer.Name}: {range}");
            Assert.All(values, v => Assert.InRange(v, range.Min, range.Max));
            Assert.Equal(Math.Min(values.Min(), 0f), range.Min, 1e-5f);
            Assert.Equal(Math.Max(values.Max(), 0f), range.Max, 1e-5f);
        }
        Assert.Equal(samples.Min(), ranges["conv1"].Min);
        Assert.Equal(samples.Max(), ranges["conv1"].Max);
        Assert.Throws<OperationCanceledException>(() => ActivationCalibration.Observe(network, samples, count, cancellationToken: new CancellationToken(true)));
    }

    [Fact]
    public void Activations_quantize_as_onnx_runtime_does_and_a_degenerate_range_has_a_valid_scale()
    {
        var unit = new ActivationRange(0f, 255f);
        Assert.Equal(1f, unit.Scale);
        Assert.Equal(0, unit.ZeroPoint);
        Assert.Equal(2, unit.Quantize(2.5f));
        Assert.Equal(4, unit.Quantize(3.5f));
        Assert.Equal(255, unit.Quantize(300f));
        Assert.Equal(0, unit.Quantize(-5f));
        var negative = new ActivationRange(-2f, -1f);
        Assert.Equal((0f, -2f), (negative.Max, negative.Min));
        Assert.Equal(255, negative.ZeroPoint);
        var shifted = new ActivationRange(-1f, 3f);
        Assert.Equal(64, shifted.ZeroPoint); // round(1 / (4/255)) = round(63.75)
        Assert.Equal(0f, shifted.Dequantize(shifted.Quantize(0f)));
        var widened = new ActivationRange(0.5f, 2f);
        Assert.Equal(0f, widened.Min);

        var empty = default(ActivationRange);
        Assert.Equal(1f, empty.Scale);
        Assert.Equal(0, empty.ZeroPoint);
        Assert.Equal(1f, new ActivationRange(0f, 0f).Scale);

        // A layer whose input is always zero (every unit before it dead) calibrates to [0, 0] and still exports and runs.
        var network = Network("mlp", seed: 14);
        var fc1 = (LinearLayer)network.Layers[1];
        network = network with { Layers = [network.Layers[0], fc1 with { Bias = Enumerable.Repeat(-1000f, fc1.OutFeatures).ToArray() }, .. network.Layers.Skip(2)] };
        var samples = Samples(network, 32, seed: 5);
        var ranges = ActivationCalibration.Observe(network, samples, 32);
        Assert.Equal(new ActivationRange(0f, 0f), ranges["fc2"]);
        var model = QdqOnnxExporter.Encode(network, QuantizationScheme.Int8, ranges);
        var actual = Run(model, network, samples, 32);
        var file = new OnnxModelReader(model);
        var expected = Simulate(file, network, samples, 32);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f * (1 + Math.Abs(expected[i])));
        // Every output is fc2's bias as the int32 grid holds it: within half a bias step s_x·s_w (s_x = 1 here).
        var fc2 = (LinearLayer)network.Layers[3];
        var biasScales = file["fc2.bias_scale"].Values<float>();
        for (var j = 0; j < fc2.OutFeatures; j++) Assert.Equal(fc2.Bias[j], actual[j], biasScales[j] / 2 + 1e-6f);
    }

    [Fact]
    public void Bad_input_is_a_one_line_argument_exception()
    {
        var network = Network("cnn", seed: 15);
        var samples = Samples(network, 8, seed: 6);
        var ranges = ActivationCalibration.Observe(network, samples, 8);
        var scheme = QuantizationScheme.Int8;
        void OneLine(Action action, string mentions)
        {
            var error = Assert.ThrowsAny<ArgumentException>(action);
            Assert.DoesNotContain('\n', error.Message);
            Assert.Contains(mentions, error.Message);
        }

        OneLine(() => QdqOnnxExporter.Encode(network, scheme, new ActivationRanges(ranges.Layers.Where(r => r.Key != "fc1").ToDictionary())), "'fc1'");
        OneLine(() => QdqOnnxExporter.Encode(network, scheme, new ActivationRanges(ranges.Layers.Append(new("fc9", default)).ToDictionary())), "'fc9'");
        var conv2 = (Conv2dLayer)network.Layers[3];
        var nanWeight = network with { Layers = network.Layers.Select(l => l == conv2 ? conv2 with { Weight = [float.NaN, .. conv2.Weight.Skip(1)] } : l).ToList() };
        OneLine(() => QdqOnnxExporter.Encode(nanWeight, scheme, ranges), "conv2.weight");
        var nanBias = network with { Layers = network.Layers.Select(l => l == conv2 ? conv2 with { Bias = [.. conv2.Bias.SkipLast(1), float.PositiveInfinity] } : l).ToList() };
        OneLine(() => QdqOnnxExporter.Encode(nanBias, scheme, ranges), "conv2.bias");
        var twice = network with { Layers = network.Layers.Select(l => l is LinearLayer fc ? fc with { Name = "fc" } : l).ToList() };
        OneLine(() => QdqOnnxExporter.Encode(twice, scheme, new ActivationRanges(new Dictionary<string, ActivationRange> { ["conv1"] = default, ["conv2"] = default, ["fc"] = default })), "'fc'");
        OneLine(() => ActivationCalibration.Observe(network, samples.Append(float.NaN).Skip(1).ToArray(), 8), "conv1");
        OneLine(() => ActivationCalibration.Observe(network, samples, 9), "9 samples");
        using (var flat = TorchSharp.torch.zeros(8, network.InputShape.Size))
            OneLine(() => ActivationCalibration.Observe(network, flat), "are not a batch of");
        OneLine(() => new ActivationRange(float.NaN, 1f), "NaN");
        OneLine(() => new ActivationRange(2f, 1f), "[2, 1]");
    }

    [Theory]
    [InlineData("cnn")]
    [InlineData("mlp")]
    public void The_qdq_model_predicts_as_the_fake_quantized_float_network_on_onnx_runtime(string kind)
    {
        var network = Network(kind, seed: 16);
        var scheme = QuantizationScheme.Int8;
        var ranges = Calibrated(network, 500, seed: 7);
        const int count = 1000;
        var inputs = Samples(network, count, seed: 8);
        var qdq = Run(QdqOnnxExporter.Encode(network, scheme, ranges), network, inputs, count);
        var fakeQuantized = Run(OnnxExporter.Encode(WeightQuantizer.Dequantized(network, scheme)), network, inputs, count);
        var outputs = qdq.Length / count;
        var agree = Enumerable.Range(0, count).Count(n => ArgMax(qdq.AsSpan(n * outputs, outputs)) == ArgMax(fakeQuantized.AsSpan(n * outputs, outputs)));
        output.WriteLine($"{kind}: the QDQ model and the fake-quantized float network agree on {agree} of {count} predictions");
        Assert.True(agree >= (OnnxRuntimeInt8.MaySaturate ? 0.95 : 0.98) * count, $"agreement on {agree} of {count} predictions");
    }

    [Fact]
    public void Onnx_runtime_fuses_the_quantized_layers_into_int8_kernels()
    {
        using var dir = new TestDirectory();
        var model = Exported("cnn", 8, QuantizationGranularity.PerChannel, seed: 18, calibrationSamples: 16).Model;
        var optimized = dir.File("optimized.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(model, options)) { }
        var ops = new OnnxModelReader(File.ReadAllBytes(optimized)).Nodes.Select(n => n.OpType).ToList();
        output.WriteLine(string.Join(" ", ops));
        // conv1 → relu → maxpool → Q becomes QLinearConv (the Q moves before the max-pool, the ReLU folds into the zero
        // point 0); fc1 and fc2 become QGemm. conv2 stays float: a Flatten stands between its ReLU and fc1's Q.
        Assert.Contains("QLinearConv", ops);
        Assert.Equal(2, ops.Count(op => op == "QGemm"));
    }

    [Fact]
    public void Save_writes_the_encoded_model_atomically()
    {
        using var dir = new TestDirectory();
        var (network, scheme, ranges, model) = Exported("mlp", 4, QuantizationGranularity.PerTensor, seed: 17, calibrationSamples: 16);
        var path = dir.File("m.qdq.onnx");
        QdqOnnxExporter.Save(path, network, scheme, ranges);
        Assert.Equal(model, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    // ---- networks and samples ----

    /// <summary>The network of <paramref name="kind"/>, calibrated on samples of seed <paramref name="seed"/> + 1000 and exported.</summary>
    private static (SequentialNetwork Network, QuantizationScheme Scheme, ActivationRanges Ranges, byte[] Model) Exported(
        string kind, int bits, QuantizationGranularity granularity, int seed, int calibrationSamples)
    {
        var network = Network(kind, seed);
        var scheme = new QuantizationScheme(bits, granularity);
        var ranges = Calibrated(network, calibrationSamples, seed + 1000);
        return (network, scheme, ranges, QdqOnnxExporter.Encode(network, scheme, ranges));
    }

    /// <summary>The activation ranges over <paramref name="count"/> samples of <see cref="Samples"/>.</summary>
    private static ActivationRanges Calibrated(SequentialNetwork network, int count, int seed) =>
        ActivationCalibration.Observe(network, Samples(network, count, seed), count);

    /// <summary>
    /// A small sparse network: "cnn" is conv(1→4, 3×3, pad 1) → relu → maxpool 2 → conv(4→6, 3×3) → relu → flatten →
    /// linear(96→16) → relu → linear(16→10) on 1×12×12; "mlp" is flatten → linear(144→32) → relu → linear(32→10).
    /// Weights are He-scaled normals with about 60% set to zero, biases small normals.
    /// </summary>
    internal static SequentialNetwork Network(string kind, int seed, double sparsity = 0.6)
    {
        var random = new Random(seed);
        float[] Weights(int count, int fanIn) => Enumerable.Range(0, count)
            .Select(_ => random.NextDouble() < sparsity ? 0f : (float)(Normal(random) * Math.Sqrt(2.0 / fanIn / (1 - sparsity)))).ToArray();
        float[] Biases(int count) => Enumerable.Range(0, count).Select(_ => (float)(0.1 * Normal(random))).ToArray();
        NetworkLayer[] layers = kind switch
        {
            "cnn" =>
            [
                new Conv2dLayer("conv1", 1, 4, Window2d.Square(3, padding: 1), Weights(4 * 9, 9), Biases(4)),
                new ReluLayer(),
                new MaxPool2dLayer(2),
                new Conv2dLayer("conv2", 4, 6, 3, Weights(6 * 4 * 9, 36), Biases(6)),
                new ReluLayer(),
                new FlattenLayer(),
                new LinearLayer("fc1", 96, 16, Weights(16 * 96, 96), Biases(16)),
                new ReluLayer(),
                new LinearLayer("fc2", 16, 10, Weights(10 * 16, 16), Biases(10)),
            ],
            "mlp" =>
            [
                new FlattenLayer(),
                new LinearLayer("fc1", 144, 32, Weights(32 * 144, 144), Biases(32)),
                new ReluLayer(),
                new LinearLayer("fc2", 32, 10, Weights(10 * 32, 32), Biases(10)),
            ],
            _ => throw new ArgumentException(kind),
        };
        return new SequentialNetwork(1, 12, 12, layers);
    }

    /// <summary>Samples uniform in [−0.5, 1): partly negative, so the first layer's zero point is not 0.</summary>
    internal static float[] Samples(SequentialNetwork network, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, checked((int)(count * network.InputShape.Size))).Select(_ => (float)(random.NextDouble() * 1.5 - 0.5)).ToArray();
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    // ---- ONNX Runtime and the reference ----

    /// <summary>ONNX Runtime's output for the model bytes, with all graph optimizations (so it may fuse QDQ into int8 kernels).</summary>
    internal static float[] Run(byte[] model, SequentialNetwork network, float[] inputs, int count)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var shape = network.InputShape;
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(inputs, new[] { count, shape.Channels, shape.Height, shape.Width });
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", input) });
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    /// <summary>
    /// The QDQ semantics of the file, computed in C#: every weighted layer reads its input quantized as ONNX Runtime's
    /// QuantizeLinear does (q = clamp(round(x/s) + z, 0, 255), x/s in float32, half to even) and dequantized ((q − z)·s),
    /// its weight levels × scales and its int32 bias × its scale, all read from the file; ReLU, pooling and flatten in float.
    /// </summary>
    internal static float[] Simulate(OnnxModelReader model, SequentialNetwork network, float[] inputs, int count)
    {
        var layers = network.Layers.Select(layer => layer switch
        {
            LinearLayer l => l with { Weight = Dequantized(model, $"{l.Name}.weight"), Bias = Dequantized(model, $"{l.Name}.bias") },
            Conv2dLayer c => (NetworkLayer)(c with { Weight = Dequantized(model, $"{c.Name}.weight"), Bias = Dequantized(model, $"{c.Name}.bias") }),
            _ => layer,
        }).ToList();
        using var reference = new TorchNetwork(network with { Layers = layers });
        using var scope = NewDisposeScope();
        var x = tensor(inputs).reshape(count, network.InputChannels, network.InputHeight, network.InputWidth);
        var y = reference.Forward(x, (layer, activations) =>
        {
            var s = model[$"{layer.Name}.input_scale"].Values<float>().Single();
            var z = (int)model[$"{layer.Name}.input_zero_point"].Values<byte>().Single();
            var values = activations.contiguous().data<float>().ToArray();
            for (var i = 0; i < values.Length; i++)
                values[i] = (Math.Clamp(MathF.Round(values[i] / s, MidpointRounding.ToEven) + z, 0f, 255f) - z) * s;
            return tensor(values).reshape(activations.shape);
        });
        return y.contiguous().data<float>().ToArray();
    }

    /// <summary>DequantizeLinear of the file's int8 weight or int32 bias: level × the scale of its row (or the one scale), in float32.</summary>
    private static float[] Dequantized(OnnxModelReader model, string tensor)
    {
        var quantized = model[$"{tensor}_quantized"];
        var levels = quantized.DataType == OnnxModelReader.Int8 ? quantized.Values<sbyte>().Select(l => (float)l).ToArray() : quantized.Values<int>().Select(l => (float)l).ToArray();
        var scales = model[$"{tensor}_scale"].Values<float>();
        var rowLength = levels.Length / scales.Length;
        return levels.Select((l, i) => l * scales[i / rowLength]).ToArray();
    }
}
