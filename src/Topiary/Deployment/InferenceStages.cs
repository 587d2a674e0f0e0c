using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Topiary.Deployment;

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

/// <summary>One step of a <see cref="SparseInferenceModel"/>, working on float buffers in the layout it asks for.</summary>
internal abstract class InferenceStage : IDisposable
{
    /// <summary>The layout this step needs at the given batch size (it produces the same); Any for element-wise steps.</summary>
    public virtual ActivationLayout Wants(int batch) => ActivationLayout.RowMajor;

    protected InferenceStage(ActivationShape input, ActivationShape output)
    {
        Input = input;
        Output = output;
    }

    public ActivationShape Input { get; }
    public ActivationShape Output { get; }

    /// <summary>Runs the step; returns the buffer holding the result (<paramref name="input"/> for in-place steps).</summary>
    public abstract float[] Run(float[] input, float[] spare, int batch);

    public virtual void Dispose() { }
}

/// <summary>A linear or convolution layer with both a CSR copy (sparse kernels) and a dense libtorch copy (fallback).</summary>
internal abstract class WeightedStage : InferenceStage
{
    private readonly Dictionary<int, bool> calibrated = new();
    protected readonly Tensor DenseWeight;
    protected readonly Tensor DenseBias;

    protected WeightedStage(string name, ActivationShape input, ActivationShape output, CsrMatrix weight, Tensor denseWeight, Tensor denseBias, bool relu)
        : base(input, output)
    {
        Name = name;
        Weight = weight;
        DenseWeight = denseWeight.DetachFromDisposeScope();
        DenseBias = denseBias.DetachFromDisposeScope();
        Relu = relu;
    }

    public string Name { get; }
    public CsrMatrix Weight { get; }
    public bool Relu { get; }
    public IReadOnlyList<SparseCrossover> Crossover { get; set; } = SparseCrossover.Default;
    public IReadOnlyDictionary<int, bool> Calibrated => calibrated;

    /// <summary>The calibrated choice of the nearest measured batch size (log scale), else the crossover table.</summary>
    public bool UsesSparse(int batch)
    {
        if (calibrated.Count == 0) return SparseCrossover.PrefersSparse(Crossover, batch, Weight.Density);
        var nearest = calibrated.Keys.MinBy(b => Math.Abs(Math.Log2(b) - Math.Log2(batch)));
        return calibrated[nearest];
    }

    public void SetCalibrated(int batch, bool sparse) => calibrated[batch] = sparse;

    public override float[] Run(float[] input, float[] spare, int batch)
    {
        if (UsesSparse(batch)) RunSparse(input, spare, batch);
        else RunDense(input, spare, batch);
        return spare;
    }

    public abstract void RunSparse(float[] input, float[] output, int batch);

    public void RunDense(float[] input, float[] output, int batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = empty(DenseInputShape(batch));
        input.AsSpan(0, checked((int)(batch * Input.Size))).CopyTo(NativeFloats.Of(x));
        var y = DenseForward(x, batch);
        if (Relu) y = nn.functional.relu(y);
        NativeFloats.Of(y.contiguous()).CopyTo(output.AsSpan(0, checked((int)(batch * Output.Size))));
    }

    protected abstract long[] DenseInputShape(int batch);
    protected abstract Tensor DenseForward(Tensor input, int batch);

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
        : base(layer.Name, input, output, CsrMatrix.FromDense(layer.Weight, layer.OutFeatures, layer.InFeatures),
            tensor(layer.Weight).reshape(layer.OutFeatures, layer.InFeatures), tensor(layer.Bias), relu)
    {
        bias = layer.Bias;
    }

    /// <summary>
    /// Feature-major for the sparse kernel on batches; row-major for the dense fallback, which then costs libtorch's
    /// own linear plus two block copies. A single sample is the same in both layouts.
    /// </summary>
    public override ActivationLayout Wants(int batch) => batch == 1 ? ActivationLayout.Any
        : UsesSparse(batch) ? ActivationLayout.FeatureMajor : ActivationLayout.RowMajor;

    public override void RunSparse(float[] input, float[] output, int batch) =>
        SparseLinearKernel.ForwardFeatureMajor(Weight, bias, input, output, batch, Relu);

    protected override long[] DenseInputShape(int batch) => new long[] { batch, Input.Size };
    protected override Tensor DenseForward(Tensor input, int batch) => nn.functional.linear(input, DenseWeight, DenseBias);
}

internal sealed class ConvStage : WeightedStage
{
    private readonly Conv2dLayer layer;
    private readonly int[] offsets;

    public ConvStage(Conv2dLayer layer, ActivationShape input, ActivationShape output, bool relu)
        : base(layer.Name, input, output, CsrMatrix.FromDense(layer.Weight, layer.OutChannels, layer.InChannels * layer.KernelSize * layer.KernelSize),
            tensor(layer.Weight).reshape(layer.OutChannels, layer.InChannels, layer.KernelSize, layer.KernelSize), tensor(layer.Bias), relu)
    {
        this.layer = layer;
        offsets = SparseConvKernel.InputOffsets(Weight, layer.KernelSize, input.Height, input.Width);
    }

    public override void RunSparse(float[] input, float[] output, int batch)
    {
        SparseConvKernel.Forward(Weight, offsets, layer.Bias, layer.KernelSize, layer.InChannels, Input.Height, Input.Width, input, output, batch);
        if (Relu) ReluStage.Apply(output.AsSpan(0, (int)(batch * Output.Size)));
    }

    protected override long[] DenseInputShape(int batch) => new long[] { batch, Input.Channels, Input.Height, Input.Width };
    protected override Tensor DenseForward(Tensor input, int batch) => nn.functional.conv2d(input, DenseWeight, DenseBias);
}

internal sealed class ReluStage(ActivationShape shape) : InferenceStage(shape, shape)
{
    public override ActivationLayout Wants(int batch) => ActivationLayout.Any;

    public override float[] Run(float[] input, float[] spare, int batch)
    {
        Apply(input.AsSpan(0, checked((int)(batch * Input.Size))));
        return input;
    }

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
    public override float[] Run(float[] input, float[] spare, int batch) => input;
}

internal sealed class MaxPoolStage(ActivationShape input, ActivationShape output, int kernel) : InferenceStage(input, output)
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override unsafe float[] Run(float[] input, float[] spare, int batch)
    {
        int h = Input.Height, w = Input.Width, oh = Output.Height, ow = Output.Width;
        var planes = batch * Input.Channels;
        fixed (float* ip = input, op = spare)
        {
            for (var p = 0; p < planes; p++)
            {
                var source = ip + (long)p * h * w;
                var target = op + (long)p * oh * ow;
                for (var y = 0; y < oh; y++)
                    for (var x = 0; x < ow; x++)
                    {
                        var window = source + y * kernel * w + x * kernel;
                        var best = float.NegativeInfinity;
                        for (var dy = 0; dy < kernel; dy++)
                            for (var dx = 0; dx < kernel; dx++)
                            {
                                var v = window[dy * w + dx];
                                // NaN propagates, as in libtorch's max_pool2d.
                                if (v > best || float.IsNaN(v)) best = v;
                            }
                        target[y * ow + x] = best;
                    }
            }
        }
        return spare;
    }
}
