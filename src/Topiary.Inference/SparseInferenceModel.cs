using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Inference;

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
/// is fused into it. Activations stay in libtorch tensors between dense layers and in scratch buffers (kept from call
/// to call) between sparse ones; a run of sparse layers reads its input tensor's memory in place and writes its
/// result straight into a new tensor's, so a contiguous float32 input is never copied, and a network that falls back
/// entirely runs exactly the libtorch operators of <see cref="TorchNetwork"/>. Calls are serialized (one forward
/// at a time per model; the kernels themselves use several threads).
/// </summary>
public sealed class SparseInferenceModel : IDisposable
{
    private readonly List<InferenceStage> stages = new();
    private readonly object gate = new();
    private readonly KernelPass kernels;
    // Network.OutputShape works out every layer's shape; not something to repeat on each call.
    private readonly long outputSize;

    /// <summary>Builds the model from a network (weights are copied; later changes to the network are not seen).</summary>
    public SparseInferenceModel(SequentialNetwork network, IReadOnlyList<SparseCrossover>? crossover = null)
    {
        TorchBackend.EnsureVerified();
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
                MaxPool2dLayer p => new PoolStage<MaxReduction>(input, shapes[i], p, p.Window),
                AvgPool2dLayer p => new PoolStage<MeanReduction>(input, shapes[i], p, p.Window),
                var other => throw new ArgumentException($"unsupported layer {other.Kind}", nameof(network)),
            };
            if (stage is WeightedStage weighted && crossover is not null) weighted.Crossover = crossover;
            stages.Add(stage);
            if (fuseRelu) i++;
            input = shapes[i];
        }
        kernels = new KernelPass(stages, Math.Max(network.InputShape.Size, shapes.Count == 0 ? 0 : shapes.Max(s => s.Size)));
        outputSize = network.OutputShape.Size;
    }

    /// <summary>Calibration picks the sparse kernel only when it is at least this factor faster than dense.</summary>
    public const double SparseMargin = 1.15;

    /// <summary>The network this model runs.</summary>
    public SequentialNetwork Network { get; }

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
    /// Measures, for every weighted layer and each batch size, the per-call time of the sparse kernel (on managed
    /// buffers) and of libtorch's dense operator (on a tensor, as it runs when it falls back) on random inputs, as
    /// medians of <paramref name="repeats"/> interleaved multi-call samples (<see cref="InterleavedTiming"/>), and from
    /// then on uses the sparse kernel where it was at least <see cref="SparseMargin"/> times faster, else dense (for
    /// other batch sizes, the choice of the nearest measured one on a log scale). Then the whole plan is timed the
    /// same way against the network on libtorch alone and kept only if it is <see cref="SparseMargin"/> times faster.
    /// </summary>
    public void Calibrate(IEnumerable<int> batchSizes, int repeats = 15)
    {
        lock (gate)
        {
            var random = new Random(12345);
            foreach (var batch in batchSizes)
            {
                foreach (var stage in stages.OfType<WeightedStage>())
                {
                    var input = new float[batch * stage.Input.Size];
                    var output = new float[batch * stage.Output.Size];
                    for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
                    using var scope = NewDisposeScope();
                    using var _ = no_grad();
                    var tensor = EmptyActivations(stage.Input, batch);
                    input.CopyTo(NativeFloats.Of(tensor));
                    var times = InterleavedTiming.Medians(repeats, new Action[] { () => stage.Run(input, output, batch), () => stage.RunTorch(tensor).Dispose() });
                    // Dense unless sparse wins clearly: near the crossover a noisy measurement must not make the layer slower.
                    stage.SetCalibrated(batch, times[0] * SparseMargin < times[1]);
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
        using var input = OwnedTensors.Copy(values, batch, shape.Channels, shape.Height, shape.Width);
        void Use(bool sparsePlan)
        {
            for (var i = 0; i < weighted.Count; i++) weighted[i].SetCalibrated(batch, sparsePlan && plan[i]);
        }
        // Action 0 runs the plan, action 1 every layer dense; the plan is switched outside the clock.
        var times = InterleavedTiming.Medians(repeats, new Action[] { () => Forward(input).Dispose(), () => Forward(input).Dispose() },
            beforeSample: action => Use(action == 0));
        Use(times[0] * SparseMargin < times[1]);
    }

    /// <summary>
    /// Runs the network on a batch: <paramref name="input"/> is [batch, C, H, W] or anything with that many values
    /// per sample; the result is [batch, outputs]. A contiguous float32 CPU input is read where it lies (and never
    /// written); any other is copied to one first.
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        // Few libtorch calls on purpose: at batch 1 each costs a noticeable part of a whole sparse forward.
        var shape = Network.InputShape;
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
                return RunMixed(source.reshape(batch, shape.Channels, shape.Height, shape.Width), batch)
                    .reshape(batch, outputSize).MoveToOuterDisposeScope();
            }
        }
        finally
        {
            if (!ready) source.Dispose();
        }
    }

    /// <summary>
    /// The path of a network whose every layer runs sparse at this batch size: the kernels read the input tensor's
    /// memory and the last one writes into the output tensor's, so of libtorch only the creation of the output
    /// tensor remains (no dispose scope, no reshape), because at batch 1 each call costs a part of a whole forward.
    /// </summary>
    private Tensor ForwardOnKernels(Tensor source, int count, int batch)
    {
        var outputs = checked((int)(batch * outputSize));
        var output = empty(batch, outputSize);
        try
        {
            kernels.Run(0, stages.Count, NativeFloats.OfKnown(source, count), NativeFloats.OfKnown(output, outputs), batch);
        }
        catch
        {
            output.Dispose();
            throw;
        }
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
        // The kernels read the input while they write the output, so the two must not share memory.
        if (input.Overlaps(output)) input = input.ToArray();
        lock (gate)
        {
            if (AllOnKernels(batch))
            {
                kernels.Run(0, stages.Count, input, output, batch);
                return;
            }
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var x = EmptyActivations(Network.InputShape, batch);
            input.CopyTo(NativeFloats.Of(x));
            NativeFloats.Of(RunMixed(x, batch).contiguous()).CopyTo(output);
        }
    }

    /// <summary>
    /// Runs every stage on activations that start as the row-major tensor <paramref name="x"/>: stages on libtorch
    /// take the tensor as it is; each run of stages on Topiary's kernels reads the tensor's memory and writes its
    /// result into a new tensor, so activations cross between the two only where a sparse layer meets a dense one.
    /// The input tensor is never written; tensors belong to the caller's dispose scope.
    /// </summary>
    private Tensor RunMixed(Tensor x, int batch)
    {
        for (var i = 0; i < stages.Count;)
        {
            if (stages[i].RunsOnTorch(batch, activationsInTorch: true))
            {
                x = stages[i].RunTorch(x);
                i++;
                continue;
            }
            var end = i + 1;
            while (end < stages.Count && !stages[end].RunsOnTorch(batch, activationsInTorch: false)) end++;
            var y = EmptyActivations(stages[end - 1].Output, batch);
            kernels.Run(i, end, NativeFloats.Of(x.contiguous()), NativeFloats.Of(y), batch);
            x = y;
            i = end;
        }
        return x;
    }

    /// <summary>An uninitialised row-major float32 tensor [batch, …shape].</summary>
    private static Tensor EmptyActivations(ActivationShape shape, int batch) =>
        shape.Flat ? empty(batch, shape.Size) : empty(batch, shape.Channels, shape.Height, shape.Width);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var stage in stages) stage.Dispose();
    }
}
