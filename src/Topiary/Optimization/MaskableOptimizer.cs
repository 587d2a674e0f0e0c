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

    /// <inheritdoc />
    public abstract void Dispose();
}
