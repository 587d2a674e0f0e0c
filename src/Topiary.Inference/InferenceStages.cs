using System.Runtime.CompilerServices;
using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// How a batch of activations lies in memory: row-major [batch, features] (libtorch's), or feature-major
/// [features, batch], which lets consecutive sparse linear layers run without transposing in between.
/// </summary>
internal enum ActivationLayout
{
    Any,
    RowMajor,
    FeatureMajor,
}

/// <summary>What a step does to the activations on Topiary's side.</summary>
internal enum StageEffect
{
    /// <summary>Nothing: the values stay where they are (a flatten).</summary>
    None,
    /// <summary>Changes the values where they are (a ReLU), or copies them changed when they are read-only.</summary>
    InPlace,
    /// <summary>Reads its input and writes a separate output.</summary>
    Writes,
}

/// <summary>
/// One step of a <see cref="SparseInferenceModel"/>: on Topiary's side it reads and writes float spans in the layout it
/// asks for (managed buffers, or a tensor's own memory); on libtorch's side it is the same operator as in
/// <see cref="TorchNetwork"/>, on a row-major tensor.
/// </summary>
internal abstract class InferenceStage : IDisposable
{
    /// <summary>The layout this step needs at the given batch size (it produces the same); Any for element-wise steps.</summary>
    public virtual ActivationLayout Wants(int batch) => ActivationLayout.RowMajor;

    /// <summary>
    /// Whether the step runs on libtorch at this batch size. Element-wise steps follow the activations (no copy just
    /// for them); weighted steps decide by their kernel choice.
    /// </summary>
    public virtual bool RunsOnTorch(int batch, bool activationsInTorch) => activationsInTorch;

    /// <summary>The step as libtorch operators on [batch, …input shape]; the input tensor is never modified.</summary>
    public abstract Tensor RunTorch(Tensor input);

    protected InferenceStage(ActivationShape input, ActivationShape output)
    {
        Input = input;
        Output = output;
    }

    public ActivationShape Input { get; }
    public ActivationShape Output { get; }

    /// <summary>How <see cref="Run"/> and <see cref="RunInPlace"/> treat the activations.</summary>
    public virtual StageEffect Effect => StageEffect.Writes;

    /// <summary>Runs the step from <paramref name="input"/> into <paramref name="output"/> (which must not overlap); for a <see cref="StageEffect.None"/> step, nothing.</summary>
    public abstract void Run(ReadOnlySpan<float> input, Span<float> output, int batch);

    /// <summary>Runs a <see cref="StageEffect.InPlace"/> step on <paramref name="values"/> themselves.</summary>
    public virtual void RunInPlace(Span<float> values, int batch) => throw new InvalidOperationException($"{GetType().Name} does not run in place");

    public virtual void Dispose() { }
}

/// <summary>A linear or convolution layer with both a CSR copy (sparse kernels) and a dense libtorch copy (fallback).</summary>
internal abstract class WeightedStage : InferenceStage
{
    private readonly Dictionary<int, bool> calibrated = new();
    protected readonly Tensor DenseWeight;
    protected readonly Tensor DenseBias;

    protected WeightedStage(WeightedLayer layer, ActivationShape input, ActivationShape output, bool relu)
        : base(input, output)
    {
        Name = layer.Name;
        Weight = CsrMatrix.FromDense(layer.Weight, layer.OutputUnits, layer.Weight.Length / layer.OutputUnits);
        var (denseWeight, denseBias) = TorchLayers.Parameters(layer);
        DenseWeight = denseWeight.DetachFromDisposeScope();
        DenseBias = denseBias.DetachFromDisposeScope();
        Relu = relu;
    }

    public string Name { get; }
    public CsrMatrix Weight { get; }
    public bool Relu { get; }
    // The choice per batch size, worked out once: at batch 1 a whole sparse layer takes microseconds. Concurrent
    // forward calls fill it; calibration, which changes the choices, runs alone (the model's lock).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> choices = new();
    private IReadOnlyList<SparseCrossover> crossover = SparseCrossover.Default;

    public IReadOnlyList<SparseCrossover> Crossover
    {
        get => crossover;
        set
        {
            crossover = value;
            choices.Clear();
        }
    }

    public IReadOnlyDictionary<int, bool> Calibrated => calibrated;

    /// <summary>The calibrated choice of the nearest measured batch size (log scale), else the crossover table.</summary>
    public bool UsesSparse(int batch)
    {
        if (choices.TryGetValue(batch, out var known)) return known;
        var sparse = calibrated.Count == 0
            ? SparseCrossover.PrefersSparse(Crossover, batch, Weight.Density)
            : calibrated[calibrated.Keys.MinBy(b => Math.Abs(Math.Log2(b) - Math.Log2(batch)))];
        choices[batch] = sparse;
        return sparse;
    }

    public void SetCalibrated(int batch, bool sparse)
    {
        calibrated[batch] = sparse;
        choices.Clear();
    }

    /// <summary>Puts back a choice saved before calibration tried others: a value, or none (null).</summary>
    public void RestoreCalibrated(int batch, bool? sparse)
    {
        if (sparse is { } value) calibrated[batch] = value;
        else calibrated.Remove(batch);
        choices.Clear();
    }

    /// <summary>The dense fallback runs on libtorch, straight on the tensor the previous steps left.</summary>
    public override bool RunsOnTorch(int batch, bool activationsInTorch) => !UsesSparse(batch);

    /// <summary>libtorch's dense operator, then ReLU in place on its fresh output (same values as a separate relu).</summary>
    public override Tensor RunTorch(Tensor input)
    {
        var y = DenseForward(input);
        return Relu ? y.relu_() : y;
    }

    protected abstract Tensor DenseForward(Tensor input);

    public override void Dispose()
    {
        DenseWeight.Dispose();
        DenseBias.Dispose();
    }
}

internal sealed class LinearStage : WeightedStage
{
    private readonly float[] bias;

    public LinearStage(LinearLayer layer, ActivationShape input, ActivationShape output, bool relu)
        : base(layer, input, output, relu)
    {
        bias = layer.Bias;
    }

    /// <summary>Feature-major for the sparse kernel on batches (the dense fallback takes libtorch's row-major tensor). A single sample is the same in both layouts.</summary>
    public override ActivationLayout Wants(int batch) => batch == 1 ? ActivationLayout.Any : ActivationLayout.FeatureMajor;

    /// <summary>The sparse kernel (the dense choice runs through <see cref="WeightedStage.RunTorch"/>).</summary>
    public override void Run(ReadOnlySpan<float> input, Span<float> output, int batch) =>
        SparseLinearKernel.ForwardFeatureMajor(Weight, bias, input, output, batch, Relu);

    protected override Tensor DenseForward(Tensor input) => TorchLayers.Linear(input, DenseWeight, DenseBias);
}

/// <summary>
/// A convolution on <see cref="SparseConvKernel"/>: stride 1 without padding straight on its input, any other window
/// on the input put in a <see cref="PhaseLayout"/> first (zero-padded and split by stride phase).
/// </summary>
internal sealed class ConvStage : WeightedStage
{
    private readonly Conv2dLayer layer;
    private readonly int[] offsets;
    private readonly PhaseLayout? phases;
    // One rearranged sample per thread: concurrent calls and the kernel's helper threads each have their own.
    [ThreadStatic] private static float[]? rearranged;

    public ConvStage(Conv2dLayer layer, ActivationShape input, ActivationShape output, bool relu)
        : base(layer, input, output, relu)
    {
        this.layer = layer;
        var window = layer.Window;
        if (window.IsUnitStrideUnpadded)
        {
            offsets = SparseConvKernel.InputOffsets(Weight, window.KernelHeight, window.KernelWidth, input.Height, input.Width);
            return;
        }
        phases = new PhaseLayout(window, layer.InChannels, input.Height, input.Width);
        offsets = phases.Offsets(Weight);
    }

    /// <summary>The sparse kernel (the dense choice runs through <see cref="WeightedStage.RunTorch"/>).</summary>
    public override unsafe void Run(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        if (phases is null)
        {
            SparseConvKernel.Forward(Weight, offsets, layer.Bias, (int)Input.Size, Input.Width, Output.Height, Output.Width, input, output, batch, Relu);
            return;
        }
        // Sample by sample, so that the rearranged input is still in the core's cache when the kernel reads it (a batch
        // of 32 of it would not be); samples go to the kernel threads when the work pays for it.
        int inputSize = (int)Input.Size, outputSize = (int)Output.Size;
        if (input.Length < (long)batch * inputSize || output.Length < (long)batch * outputSize) throw new ArgumentException("input or output is too small");
        fixed (float* ip = input, op = output)
        {
            nint source = (nint)ip, target = (nint)op;
            SparseConvKernel.ForEachPlane(batch, (long)Weight.Nonzero * batch * outputSize / Math.Max(1, layer.OutChannels), sample =>
            {
                var buffer = rearranged is { } kept && kept.Length >= phases.SampleSize ? kept : rearranged = new float[phases.SampleSize];
                phases.Rearrange(new ReadOnlySpan<float>((float*)source + (long)sample * inputSize, inputSize), buffer, 1);
                SparseConvKernel.Forward(Weight, offsets, layer.Bias, phases.SampleSize, phases.PhaseWidth, Output.Height, Output.Width, buffer,
                    new Span<float>((float*)target + (long)sample * outputSize, outputSize), 1, Relu);
            });
        }
    }

    protected override Tensor DenseForward(Tensor input) => TorchLayers.Conv(input, layer, DenseWeight, DenseBias);
}

internal sealed class ReluStage(ActivationShape shape) : InferenceStage(shape, shape)
{
    public override ActivationLayout Wants(int batch) => ActivationLayout.Any;

    public override StageEffect Effect => StageEffect.InPlace;

    public override void RunInPlace(Span<float> values, int batch) => Apply(values[..checked((int)(batch * Input.Size))]);

    /// <summary>The same values as <see cref="Apply"/>, for input that must not be written (the caller's tensor).</summary>
    public override void Run(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        var count = checked((int)(batch * Input.Size));
        input[..count].CopyTo(output);
        Apply(output[..count]);
    }

    public override Tensor RunTorch(Tensor input) => nn.functional.relu(input);

    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++) if (values[i] < 0f) values[i] = 0f;
    }
}

/// <summary>Flatten is free: [batch, C, H, W] and [batch, C·H·W] are the same row-major buffer.</summary>
internal sealed class FlattenStage(ActivationShape input, ActivationShape output) : InferenceStage(input, output)
{
    public override StageEffect Effect => StageEffect.None;

    public override void Run(ReadOnlySpan<float> input, Span<float> output, int batch) { }

    public override Tensor RunTorch(Tensor input) => input.flatten(1);
}
