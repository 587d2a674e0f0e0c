using System.Diagnostics;
using static TorchSharp.torch;

namespace Topiary.Deployment;

/// <summary>How one weighted layer of a <see cref="SparseInferenceModel"/> runs.</summary>
/// <param name="Name">Layer name (e.g. fc1).</param>
/// <param name="Kind">linear or conv2d.</param>
/// <param name="Density">Non-zero fraction of its weight.</param>
/// <param name="SparseAtBatch">For the batch sizes asked about, whether the sparse kernel runs (false: libtorch dense).</param>
public sealed record InferenceLayerPlan(string Name, string Kind, double Density, IReadOnlyDictionary<int, bool> SparseAtBatch);

/// <summary>
/// CPU inference for unstructured sparse networks: each linear and convolution layer runs on Topiary's CSR kernels
/// (<see cref="SparseLinearKernel"/>, <see cref="SparseConvKernel"/>) when its density is under the crossover
/// for the batch size (<see cref="SparseCrossover"/>, or as measured by <see cref="Calibrate"/>), and on libtorch's
/// dense kernels otherwise, so it is not slower than dense where sparsity does not pay. A ReLU right after a layer
/// is fused into it. Activations stay in managed buffers between sparse layers and in libtorch tensors between
/// dense ones, and are copied only where one kind follows the other: a network that falls back entirely runs
/// exactly the libtorch operators of <see cref="TorchNetwork"/>, with no copy. Calls are serialized (one forward
/// at a time per model; the kernels themselves use several threads).
/// </summary>
public sealed class SparseInferenceModel : IDisposable
{
    private readonly List<InferenceStage> stages = new();
    private readonly object gate = new();
    private float[] front = Array.Empty<float>(), back = Array.Empty<float>();
    // A network of flattens alone would hand back a view of the caller's input on libtorch's path.
    private readonly bool onlyViews;
    // Network.OutputShape works out every layer's shape; not something to repeat on each call.
    private readonly long outputSize;

    /// <summary>Builds the model from a network (weights are copied; later changes to the network are not seen).</summary>
    public SparseInferenceModel(SequentialNetwork network, IReadOnlyList<SparseCrossover>? crossover = null)
    {
        Network = network;
        var shapes = network.Shapes();
        var input = network.InputShape;
        for (var i = 0; i < network.Layers.Count; i++)
        {
            var fuseRelu = i + 1 < network.Layers.Count && network.Layers[i + 1] is ReluLayer && network.Layers[i] is LinearLayer or Conv2dLayer;
            InferenceStage stage = network.Layers[i] switch
            {
                LinearLayer l => new LinearStage(l, input, shapes[i], fuseRelu),
                Conv2dLayer c => new ConvStage(c, input, shapes[i], fuseRelu),
                ReluLayer => new ReluStage(input),
                FlattenLayer => new FlattenStage(input, shapes[i]),
                MaxPool2dLayer p => new MaxPoolStage(input, shapes[i], p.KernelSize),
                var other => throw new ArgumentException($"unsupported layer {other.Kind}", nameof(network)),
            };
            if (stage is WeightedStage weighted && crossover is not null) weighted.Crossover = crossover;
            stages.Add(stage);
            if (fuseRelu) i++;
            input = shapes[i];
        }
        onlyViews = stages.All(s => s is FlattenStage);
        MaxActivation = Math.Max(network.InputShape.Size, shapes.Count == 0 ? 0 : shapes.Max(s => s.Size));
        outputSize = network.OutputShape.Size;
    }

    /// <summary>Calibration picks the sparse kernel only when it is at least this factor faster than dense.</summary>
    public const double SparseMargin = 1.15;

    /// <summary>The network this model runs.</summary>
    public SequentialNetwork Network { get; }

    private long MaxActivation { get; }

    /// <summary>For each weighted layer: its density and, for each given batch size, whether it runs sparse.</summary>
    public IReadOnlyList<InferenceLayerPlan> Plan(params int[] batchSizes)
    {
        lock (gate) // the stages remember their choices, so not while a forward call reads them
        {
            return stages.OfType<WeightedStage>()
                .Select(s => new InferenceLayerPlan(s.Name, s is LinearStage ? "linear" : "conv2d", s.Weight.Density,
                    batchSizes.ToDictionary(b => b, s.UsesSparse)))
                .ToList();
        }
    }

    /// <summary>
    /// Measures, for every weighted layer and each batch size, the median time of the sparse kernel (on managed
    /// buffers) and of libtorch's dense operator (on a tensor, as it runs when it falls back) on random inputs,
    /// alternating the two, and from then on uses the sparse kernel where it was at least
    /// <see cref="SparseMargin"/> times faster, else dense (for other batch sizes, the choice of the nearest measured
    /// one on a log scale).
    /// </summary>
    public void Calibrate(IEnumerable<int> batchSizes, int repeats = 15)
    {
        lock (gate)
        {
            var random = new Random(12345);
            foreach (var batch in batchSizes)
            {
                EnsureBuffers(batch);
                foreach (var stage in stages.OfType<WeightedStage>())
                {
                    var input = new float[batch * stage.Input.Size];
                    for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
                    using var scope = NewDisposeScope();
                    using var _ = no_grad();
                    var tensor = stage.InputTensor(input, batch);
                    var sparse = new List<double>();
                    var dense = new List<double>();
                    var clock = new Stopwatch();
                    for (var r = 0; r < repeats + 2; r++)
                    {
                        clock.Restart();
                        stage.RunSparse(input, back, batch);
                        if (r >= 2) sparse.Add(clock.Elapsed.TotalMilliseconds);
                        clock.Restart();
                        stage.RunTorch(tensor).Dispose();
                        if (r >= 2) dense.Add(clock.Elapsed.TotalMilliseconds);
                    }
                    // Dense unless sparse wins clearly: near the crossover a noisy measurement must not make the layer slower.
                    stage.SetCalibrated(batch, Topiary.Reporting.Statistics.Median(sparse) * SparseMargin < Topiary.Reporting.Statistics.Median(dense));
                }
                KeepPlanOnlyIfFasterThanDense(batch, repeats, random);
            }
        }
    }

    /// <summary>
    /// Layers timed one by one can each win and still lose together (copies where sparse and dense layers meet,
    /// caches shared between layers), so the whole plan is timed against the network on libtorch alone, and
    /// dropped unless it is at least <see cref="SparseMargin"/> times faster.
    /// </summary>
    private void KeepPlanOnlyIfFasterThanDense(int batch, int repeats, Random random)
    {
        var weighted = stages.OfType<WeightedStage>().ToList();
        var plan = weighted.Select(s => s.UsesSparse(batch)).ToList();
        if (!plan.Contains(true)) return;
        var shape = Network.InputShape;
        using var scope = NewDisposeScope();
        // Managed random numbers: calibrating must not move libtorch's global generator.
        var values = new float[batch * shape.Size];
        for (var i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        using var input = tensor(values).reshape(batch, shape.Channels, shape.Height, shape.Width);
        var timings = new List<double>[] { new(), new() };
        var clock = new Stopwatch();
        // A sample is several calls when one is short: single microsecond calls are mostly timer and scheduler noise.
        var calls = 1;
        for (var r = 0; r < repeats + 2; r++)
        {
            for (var allDense = 0; allDense < 2; allDense++)
            {
                for (var i = 0; i < weighted.Count; i++) weighted[i].SetCalibrated(batch, allDense == 0 && plan[i]);
                clock.Restart();
                for (var c = 0; c < calls; c++) Forward(input).Dispose();
                var milliseconds = clock.Elapsed.TotalMilliseconds / calls;
                if (r >= 2) timings[allDense].Add(milliseconds);
                else if (r == 1 && allDense == 1) calls = (int)Math.Clamp(0.5 / Math.Max(milliseconds, 1e-4), 1, 200);
            }
        }
        var keep = Topiary.Reporting.Statistics.Median(timings[0]) * SparseMargin < Topiary.Reporting.Statistics.Median(timings[1]);
        for (var i = 0; i < weighted.Count; i++) weighted[i].SetCalibrated(batch, keep && plan[i]);
    }

    /// <summary>
    /// Runs the network on a batch: <paramref name="input"/> is [batch, C, H, W] or anything with that many values
    /// per sample (float32 on the CPU); the result is [batch, outputs].
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        // Few libtorch calls on purpose: at batch 1 each costs about as much as a sparse layer.
        var shape = Network.InputShape;
        var outputs = outputSize;
        var ready = input.dtype == float32 && input.device_type == TorchSharp.DeviceType.CPU && input.is_contiguous();
        var source = ready ? input : input.detach().to(float32).cpu().contiguous();
        try
        {
            var count = source.numel();
            if (count == 0 || count % shape.Size != 0)
                throw new ArgumentException($"input of {count} values is not a whole number of samples of {shape.Size}", nameof(input));
            var batch = checked((int)(count / shape.Size));
            lock (gate)
            {
                if (AllOnKernels(batch)) return ForwardOnKernels(source, checked((int)count), batch);
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                EnsureBuffers(batch);
                var (result, buffer) = RunStages(source.reshape(batch, shape.Channels, shape.Height, shape.Width), batch);
                Tensor output;
                if (result is null)
                {
                    output = empty(batch, outputs);
                    buffer.AsSpan(0, checked((int)(batch * outputs))).CopyTo(NativeFloats.Of(output));
                }
                else
                {
                    output = result.reshape(batch, outputs);
                    if (onlyViews) output = output.clone();
                }
                return output.MoveToOuterDisposeScope();
            }
        }
        finally
        {
            if (!ready) source.Dispose();
        }
    }

    /// <summary>
    /// The path of a network whose every layer runs sparse at this batch size: one copy in, one out, and of libtorch
    /// only the output tensor (no dispose scope, no reshape), because at batch 1 each call costs about as much as a layer.
    /// </summary>
    private Tensor ForwardOnKernels(Tensor source, int count, int batch)
    {
        EnsureBuffers(batch);
        NativeFloats.OfKnown(source, count).CopyTo(front);
        var (_, buffer) = RunStages(null, batch);
        var outputs = checked((int)(batch * outputSize));
        var output = empty(batch, outputSize);
        buffer.AsSpan(0, outputs).CopyTo(NativeFloats.OfKnown(output, outputs));
        return output;
    }

    private bool AllOnKernels(int batch)
    {
        foreach (var stage in stages)
            if (stage.RunsOnTorch(batch, activationsInTorch: false)) return false;
        return true;
    }

    /// <summary>Runs the network on managed memory: input [batch × C·H·W], output [batch × outputs].</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        if (input.Length != batch * Network.InputShape.Size || output.Length != batch * outputSize)
            throw new ArgumentException("input or output length does not match the batch");
        lock (gate)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            EnsureBuffers(batch);
            input.CopyTo(front);
            var (result, buffer) = RunStages(null, batch);
            if (result is null) buffer.AsSpan(0, output.Length).CopyTo(output);
            else NativeFloats.Of(result.contiguous()).CopyTo(output);
        }
    }

    /// <summary>
    /// Runs every stage on activations that start as <paramref name="tensor"/> (row-major) or, when it is null, in
    /// <c>front</c>. Stages on libtorch take the tensor as it is and Topiary's kernels take managed buffers; the
    /// activations are copied from one to the other only where the kind of stage changes. The result is a tensor, or
    /// (when the tensor is null) row-major values in the returned buffer. Tensors belong to the caller's dispose scope.
    /// </summary>
    private (Tensor? Tensor, float[] Buffer) RunStages(Tensor? tensor, int batch)
    {
        float[] current = front, spare = back;
        var layout = ActivationLayout.RowMajor;
        var shape = Network.InputShape;
        foreach (var stage in stages)
        {
            if (stage.RunsOnTorch(batch, tensor is not null))
            {
                if (tensor is null)
                {
                    if (batch > 1 && layout == ActivationLayout.FeatureMajor)
                    {
                        Relayout(current, spare, batch, shape.Size, layout);
                        (current, spare) = (spare, current);
                        layout = ActivationLayout.RowMajor;
                    }
                    tensor = stage.InputTensor(current, batch);
                }
                tensor = stage.RunTorch(tensor);
                shape = stage.Output;
                continue;
            }
            if (tensor is not null)
            {
                NativeFloats.Of(tensor.contiguous()).CopyTo(current);
                tensor = null;
                layout = ActivationLayout.RowMajor;
            }
            var wanted = stage.Wants(batch);
            if (batch > 1 && wanted != ActivationLayout.Any && wanted != layout)
            {
                Relayout(current, spare, batch, shape.Size, layout);
                (current, spare) = (spare, current);
                layout = wanted;
            }
            var result = stage.Run(current, spare, batch);
            if (!ReferenceEquals(result, current)) (current, spare) = (result, current);
            shape = stage.Output;
        }
        if (tensor is null && batch > 1 && layout == ActivationLayout.FeatureMajor)
        {
            Relayout(current, spare, batch, shape.Size, layout);
            current = spare;
        }
        return (tensor, current);
    }

    private static void Relayout(float[] source, float[] target, int batch, long features, ActivationLayout from)
    {
        var size = checked((int)features);
        if (from == ActivationLayout.FeatureMajor) SparseLinearKernel.Transpose(source, target, size, batch);
        else SparseLinearKernel.Transpose(source, target, batch, size);
    }

    private void EnsureBuffers(int batch)
    {
        var activations = checked((int)(batch * MaxActivation));
        if (front.Length < activations)
        {
            front = new float[activations];
            back = new float[activations];
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var stage in stages) stage.Dispose();
    }
}
