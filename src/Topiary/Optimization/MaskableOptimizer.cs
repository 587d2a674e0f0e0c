using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// A first-order optimizer whose per-parameter state Topiary can see: pruning must clear the
/// moment buffers of removed weights (or Adam would keep moving them), and checkpoints must
/// save the state. TorchSharp's optimizers keep that state private, hence these small ones.
/// </summary>
public abstract class MaskableOptimizer : IDisposable
{
    /// <summary>The optimized parameters, in order.</summary>
    protected IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    protected MaskableOptimizer(IEnumerable<Parameter> parameters, double learningRate)
    {
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException("nothing to optimize", nameof(parameters));
        LearningRate = learningRate;
    }

    /// <summary>Step size η.</summary>
    public double LearningRate
    {
        get;
        set => field = value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "the learning rate must be a positive finite number");
    }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the parameters' current gradients.</summary>
    public abstract void Step();

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.grad?.zero_();
    }

    /// <summary>Multiplies every state buffer of <paramref name="parameter"/> by <paramref name="mask"/>, so pruned entries carry no momentum.</summary>
    public abstract void MaskState(Parameter parameter, Tensor mask);

    /// <summary>The state buffers by name, for checkpoints.</summary>
    public abstract IReadOnlyDictionary<string, Tensor> StateBuffers();

    /// <summary>
    /// Restores a checkpoint: the step count and copies of the buffers <see cref="StateBuffers"/> returned
    /// (same names and shapes). Afterwards the optimizer continues exactly as the saved one would have.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is missing, unknown or has the wrong shape.</exception>
    public void LoadState(long stepCount, IReadOnlyDictionary<string, Tensor> buffers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        LoadStateBuffers(buffers);
        StepCount = stepCount;
    }

    /// <summary>Copies <paramref name="buffers"/> into this optimizer's state; see <see cref="LoadState"/>.</summary>
    protected virtual void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> buffers) =>
        throw new NotSupportedException($"{GetType().Name} cannot restore its state from a checkpoint");

    /// <summary>The position of <paramref name="parameter"/> among the optimized tensors.</summary>
    /// <exception cref="ArgumentException">This optimizer does not optimize it.</exception>
    protected int IndexOf(Parameter parameter)
    {
        for (var i = 0; i < Parameters.Count; i++)
            if (ReferenceEquals(Parameters[i], parameter) || Parameters[i].Handle == parameter.Handle) return i;
        throw new ArgumentException("the parameter is not optimized by this optimizer", nameof(parameter));
    }

    /// <summary>Checks that <paramref name="source"/> can be copied into a buffer shaped like parameter <paramref name="index"/>.</summary>
    protected void RequireShape(string name, Tensor source, int index)
    {
        if (!source.shape.SequenceEqual(Parameters[index].shape))
            throw new ArgumentException($"optimizer state '{name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", Parameters[index].shape)}]");
    }

    /// <inheritdoc />
    public abstract void Dispose();
}
