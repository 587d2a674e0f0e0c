using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>How one weighted layer of a <see cref="SparseInferenceModel"/> runs.</summary>
/// <param name="Name">Layer name (e.g. fc1).</param>
/// <param name="Kind">linear or conv2d.</param>
/// <param name="Density">Non-zero fraction of its weight.</param>
/// <param name="SparseAtBatch">For the batch sizes asked about, whether the sparse kernel runs (false: a dense engine, libtorch or, for the whole network, ONNX Runtime; see <see cref="SparseInferenceModel.EngineAt"/>).</param>
public sealed record InferenceLayerPlan(string Name, string Kind, double Density, IReadOnlyDictionary<int, bool> SparseAtBatch);

/// <summary>
/// CPU inference for unstructured sparse networks: each linear and convolution layer runs on Topiary's CSR kernels
/// (<see cref="SparseLinearKernel"/>, <see cref="SparseConvKernel"/>) when its density is under the crossover
/// for the batch size (<see cref="SparseCrossover"/>, or as measured by <see cref="Calibrate"/>), and on libtorch's
/// dense kernels otherwise; after calibration a batch size whose fastest engine is a dense one runs the whole
/// network there: libtorch, or ONNX Runtime (<see cref="OnnxRuntimeNetwork"/>). A ReLU right after a layer is fused
/// into it. Activations stay in libtorch tensors between dense layers and in scratch buffers between sparse ones; a
/// run of sparse layers reads its input tensor's memory in place and writes its result straight into a new tensor's,
/// so a contiguous float32 input is never copied, and a network that falls back to libtorch entirely runs exactly the
/// libtorch operators of <see cref="TorchNetwork"/>. Forward calls may run concurrently: each takes its own scratch
/// buffers (the kernels themselves also use several threads, but only one call at a time gets the helper threads;
/// the others run on their own thread). <see cref="Calibrate"/> and <see cref="Apply"/> wait for running calls and
/// hold new ones back until they are done.
/// </summary>
public sealed class SparseInferenceModel : IDisposable
{
    private readonly List<InferenceStage> stages = new();
    // Forward calls share it for reading; calibration, which changes the plan, takes it alone.
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);
    private readonly KernelPass kernels;
    // Network.OutputShape works out every layer's shape; not something to repeat on each call.
    private readonly long outputSize;
    // The whole-network engine per calibrated batch size (Topiary where nothing was calibrated).
    private readonly Dictionary<int, CalibrationChoice> choices = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, CalibrationChoice?> nearestChoice = new();
    // ONNX Runtime sessions by intra-op threads, built when calibration first times them.
    private readonly Dictionary<int, OnnxRuntimeNetwork> onnxRuntime = new();

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

    /// <summary>Calibration picks the sparse kernel for a layer only when it is at least this factor faster than dense (<see cref="CalibrationDecision.LayerMargin"/>).</summary>
    public const double SparseMargin = CalibrationDecision.LayerMargin;

    /// <summary>The network this model runs.</summary>
    public SequentialNetwork Network { get; }

    /// <summary>The steps in order (benchmarks time them one by one).</summary>
    internal IReadOnlyList<InferenceStage> Stages => stages;

    /// <summary>For each weighted layer: its density and, for each given batch size, whether it runs sparse.</summary>
    public IReadOnlyList<InferenceLayerPlan> Plan(params int[] batchSizes)
    {
        gate.EnterReadLock();
        try
        {
            return stages.OfType<WeightedStage>()
                .Select(s => new InferenceLayerPlan(s.Name, s is LinearStage ? "linear" : "conv2d", s.Weight.Density,
                    batchSizes.ToDictionary(b => b, b => Engine(b) == InferenceEngine.Topiary && s.UsesSparse(b))))
                .ToList();
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    /// <summary>
    /// The engine that runs a call of <paramref name="batch"/> samples: what calibration chose for the nearest
    /// calibrated batch size (log scale), or <see cref="InferenceEngine.Topiary"/> before calibration.
    /// </summary>
    public InferenceEngine EngineAt(int batch)
    {
        gate.EnterReadLock();
        try
        {
            return Engine(batch);
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    /// <summary>One line for reports: the engine, or each layer's kernel (S sparse, D dense).</summary>
    internal string Describe(int batch)
    {
        var choice = EngineChoice(batch);
        if (choice is { Engine: InferenceEngine.OnnxRuntime }) return $"ONNX Runtime ({choice.Threads} thread{(choice.Threads == 1 ? "" : "s")})";
        if (choice is { Engine: InferenceEngine.LibTorch }) return "libtorch";
        return string.Join(" ", Plan(batch).Select(p => $"{p.Name}:{(p.SparseAtBatch[batch] ? "S" : "D")}"));
    }

    private InferenceEngine Engine(int batch) => EngineChoice(batch)?.Engine ?? InferenceEngine.Topiary;

    private CalibrationChoice? EngineChoice(int batch) =>
        choices.Count == 0 ? null : nearestChoice.GetOrAdd(batch, b => choices[choices.Keys.MinBy(c => Math.Abs(Math.Log2(c) - Math.Log2(b)))]);

    /// <summary>
    /// Measures this machine at each batch size (<see cref="Measure"/>) and applies what <see cref="CalibrationDecision.Choose"/>
    /// makes of it (<see cref="Apply"/>): per layer sparse or dense, then for the whole network the fastest of
    /// Topiary's plan, libtorch and ONNX Runtime. Other batch sizes follow the nearest calibrated one (log scale).
    /// </summary>
    /// <param name="batchSizes">The batch sizes to measure.</param>
    /// <param name="repeats">Samples per variant (<see cref="InterleavedTiming.Medians"/>).</param>
    /// <param name="clock">The clock; the system's by default (tests pass a fake one).</param>
    /// <returns>The timing table of each batch size, in the order given.</returns>
    public IReadOnlyList<CalibrationTimings> Calibrate(IEnumerable<int> batchSizes, int repeats = 15, TimeProvider? clock = null)
    {
        var tables = new List<CalibrationTimings>();
        foreach (var batch in batchSizes)
        {
            var timings = Measure(batch, repeats, clock);
            Apply(CalibrationDecision.Choose(timings));
            tables.Add(timings);
        }
        return tables;
    }

    /// <summary>
    /// Times, at <paramref name="batch"/>, every weighted layer's sparse kernel (on managed buffers) against libtorch's
    /// dense operator (on a tensor, as it runs when it falls back), on random inputs; then whole calls of Topiary's
    /// plan as <see cref="CalibrationDecision.LayerRunsSparse"/> makes it from those layer timings, of libtorch alone,
    /// and of ONNX Runtime with 1 and with <see cref="KernelThreads.Count"/> intra-op threads (left out where ONNX
    /// Runtime's native library does not load on this platform). All are medians of
    /// <paramref name="repeats"/> interleaved multi-call samples (<see cref="InterleavedTiming"/>). Leaves the plan
    /// as it was; <see cref="Apply"/> the choice to use it.
    /// </summary>
    public CalibrationTimings Measure(int batch, int repeats = 15, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        gate.EnterWriteLock();
        try
        {
            var random = new Random(12345);
            var weighted = stages.OfType<WeightedStage>().ToList();
            var layers = new List<LayerTiming>();
            foreach (var stage in weighted)
            {
                var input = new float[batch * stage.Input.Size];
                var output = new float[batch * stage.Output.Size];
                for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var tensor = EmptyActivations(stage.Input, batch);
                input.CopyTo(NativeFloats.Of(tensor));
                var times = InterleavedTiming.Medians(repeats, new Action[] { () => stage.Run(input, output, batch), () => stage.RunTorch(tensor).Dispose() }, time: clock, settle: Settle(clock));
                layers.Add(new LayerTiming(stage.Name, times[0], times[1]));
            }
            return new CalibrationTimings(batch, layers, MeasureEngines(batch, weighted, layers, repeats, random, clock));
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <summary>
    /// Layers timed one by one can each win and still lose together (copies where sparse and dense layers meet,
    /// caches shared between layers), and another engine may run the dense network faster than libtorch, so whole
    /// calls are timed: Topiary's plan (when it has a sparse layer), libtorch, ONNX Runtime.
    /// </summary>
    private List<EngineTiming> MeasureEngines(int batch, List<WeightedStage> weighted, List<LayerTiming> layers, int repeats, Random random, TimeProvider? clock)
    {
        var plan = layers.Select(l => CalibrationDecision.LayerRunsSparse(l.SparseMilliseconds, l.DenseMilliseconds)).ToList();
        var previous = weighted.Select(s => s.Calibrated.TryGetValue(batch, out var sparse) ? (bool?)sparse : null).ToList();
        var previousChoice = choices.GetValueOrDefault(batch);
        var shape = Network.InputShape;
        using var scope = NewDisposeScope();
        // Managed random numbers: calibrating must not move libtorch's global generator.
        var values = new float[batch * shape.Size];
        for (var i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        var output = new float[batch * outputSize];
        using var input = OwnedTensors.Copy(values, batch, shape.Channels, shape.Height, shape.Width);
        var engines = new List<(InferenceEngine Engine, int Threads, Action Run)>();
        if (plan.Contains(true)) engines.Add((InferenceEngine.Topiary, KernelThreads.Count, () => ForwardUnlocked(input).Dispose()));
        engines.Add((InferenceEngine.LibTorch, TorchSharp.torch.get_num_threads(), () => ForwardUnlocked(input).Dispose()));
        foreach (var threads in new[] { 1, KernelThreads.Count }.Distinct())
        {
            if (TryOnnxRuntime(threads) is not { } session) break;
            engines.Add((InferenceEngine.OnnxRuntime, threads, () => session.Forward(values, output, batch)));
        }
        void Use(int engine)
        {
            var sparse = engines[engine].Engine == InferenceEngine.Topiary;
            for (var i = 0; i < weighted.Count; i++) weighted[i].SetCalibrated(batch, sparse && plan[i]);
            choices[batch] = new CalibrationChoice(batch, engines[engine].Engine, engines[engine].Threads, plan);
            nearestChoice.Clear();
        }
        try
        {
            // The plan is switched outside the clock, before each sample.
            var times = InterleavedTiming.Medians(repeats, engines.Select(e => e.Run).ToList(), beforeSample: Use, time: clock, settle: Settle(clock));
            return engines.Select((e, i) => new EngineTiming(e.Engine, e.Threads, times[i])).ToList();
        }
        finally
        {
            for (var i = 0; i < weighted.Count; i++) weighted[i].RestoreCalibrated(batch, previous[i]);
            if (previousChoice is null) choices.Remove(batch);
            else choices[batch] = previousChoice;
            nearestChoice.Clear();
        }
    }

    // Engines on different thread pools are timed apart (InterleavedTiming.EngineSettle); a test's fake clock needs no pause.
    private static TimeSpan Settle(TimeProvider? clock) => clock is null ? InterleavedTiming.EngineSettle : TimeSpan.Zero;

    /// <summary>
    /// Uses <paramref name="choice"/> for its batch size from now on (and for the batch sizes nearest to it): a choice
    /// of <see cref="CalibrationDecision.Choose"/>, or one kept from an earlier run on the same machine.
    /// </summary>
    /// <exception cref="ArgumentException">The choice lists another number of layers than the network has weighted layers.</exception>
    public void Apply(CalibrationChoice choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        ArgumentOutOfRangeException.ThrowIfLessThan(choice.Batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(choice.Threads, 1);
        gate.EnterWriteLock();
        try
        {
            var weighted = stages.OfType<WeightedStage>().ToList();
            if (choice.SparseLayers.Count != weighted.Count)
                throw new ArgumentException($"the choice lists {choice.SparseLayers.Count} layers, the network has {weighted.Count} weighted layers", nameof(choice));
            if (choice.Engine == InferenceEngine.OnnxRuntime) OnnxRuntime(choice.Threads);
            for (var i = 0; i < weighted.Count; i++) weighted[i].SetCalibrated(choice.Batch, choice.Engine == InferenceEngine.Topiary && choice.SparseLayers[i]);
            choices[choice.Batch] = choice;
            nearestChoice.Clear();
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <summary>
    /// The session, or null where ONNX Runtime cannot run here (its package has no native library for this platform):
    /// calibration then chooses between Topiary's plan and libtorch, as before ONNX Runtime was an engine.
    /// </summary>
    private OnnxRuntimeNetwork? TryOnnxRuntime(int threads)
    {
        try
        {
            return OnnxRuntime(threads);
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException)
        {
            return null;
        }
    }

    private OnnxRuntimeNetwork OnnxRuntime(int threads)
    {
        if (!onnxRuntime.TryGetValue(threads, out var session)) onnxRuntime[threads] = session = new OnnxRuntimeNetwork(Network, threads);
        return session;
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
            gate.EnterReadLock();
            try
            {
                return ForwardUnlocked(source);
            }
            finally
            {
                gate.ExitReadLock();
            }
        }
        finally
        {
            if (!ready) source.Dispose();
        }
    }

    /// <summary>The forward call on a contiguous float32 CPU tensor of whole samples, under the caller's hold of the lock.</summary>
    private Tensor ForwardUnlocked(Tensor source)
    {
        var shape = Network.InputShape;
        var count = source.numel();
        var batch = checked((int)(count / shape.Size));
        var choice = EngineChoice(batch);
        if (choice is { Engine: InferenceEngine.OnnxRuntime }) return onnxRuntime[choice.Threads].Forward(source);
        if (AllOnKernels(batch)) return ForwardOnKernels(source, checked((int)count), batch);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return RunMixed(source.reshape(batch, shape.Channels, shape.Height, shape.Width), batch)
            .reshape(batch, outputSize).MoveToOuterDisposeScope();
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
        gate.EnterReadLock();
        try
        {
            var choice = EngineChoice(batch);
            if (choice is { Engine: InferenceEngine.OnnxRuntime })
            {
                onnxRuntime[choice.Threads].Forward(input, output, batch);
                return;
            }
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
        finally
        {
            gate.ExitReadLock();
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
        foreach (var session in onnxRuntime.Values) session.Dispose();
        gate.Dispose();
    }
}
