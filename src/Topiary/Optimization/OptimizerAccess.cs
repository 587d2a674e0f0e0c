using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// What a pruning session needs of the optimizer that steps the model, whoever wrote it: clear the state of pruned
/// entries (else Adam's moments would keep moving weights towards non-zero values between re-maskings), save and
/// restore the state for checkpoints, and halve the learning rate after a divergence. Built for TorchSharp's own
/// optimizers and for Topiary's (<c>OptimizerAccess.Of</c>).
/// </summary>
public abstract class OptimizerAccess : IDisposable
{
    /// <summary>Access to one of TorchSharp's <c>torch.optim</c> optimizers (SGD, Adam, AdamW, RMSprop, …).</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="owns">Whether disposing the access disposes the optimizer (for optimizers a run creates itself).</param>
    public static OptimizerAccess Of(torch.optim.Optimizer optimizer, bool owns = false) => new TorchSharpOptimizerAccess(optimizer) { Owns = owns };

    /// <summary>Access to one of Topiary's optimizers (Adam, SGD, Muon, steepest descent, Scion).</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="owns">Whether disposing the access disposes the optimizer.</param>
    public static OptimizerAccess Of(MaskableOptimizer optimizer, bool owns = false) => new TopiaryOptimizerAccess(optimizer) { Owns = owns };

    /// <summary>Whether <see cref="Dispose"/> disposes the optimizer.</summary>
    protected bool Owns { get; init; }

    /// <summary>Applies one update from the parameters' current gradients (for runs that step the optimizer themselves).</summary>
    public abstract void Step();

    /// <summary>Hands the step's batch to an optimizer that reads it (<see cref="ICurvatureOptimizer"/>); the others ignore it.</summary>
    public virtual void UseBatch(CurvatureBatch batch)
    {
    }

    /// <summary>Disposes the optimizer when this access owns it.</summary>
    public abstract void Dispose();

    /// <summary>The optimizer's type, for messages and checkpoints.</summary>
    public abstract string Kind { get; }

    /// <summary>The learning rate of the first parameter group.</summary>
    public abstract double LearningRate { get; }

    /// <summary>Sets the learning rate of every parameter group.</summary>
    public abstract void SetLearningRate(double rate);

    /// <summary>Multiplies the learning rate of every parameter group by <paramref name="factor"/>.</summary>
    public abstract void ScaleLearningRate(double factor);

    /// <summary>Steps taken, where the optimizer counts them outside its saved state (Topiary's); 0 otherwise.</summary>
    public abstract long StepCount { get; }

    /// <summary>Multiplies every state buffer of <paramref name="parameter"/> by <paramref name="mask"/>.</summary>
    public abstract void MaskState(Parameter parameter, Tensor mask);

    /// <summary>Copies of the state (buffers; for TorchSharp's optimizers also step counts and options), as named tensors.</summary>
    /// <exception cref="NotSupportedException">This optimizer's state cannot be saved.</exception>
    public abstract Dictionary<string, Tensor> SaveState();

    /// <summary>
    /// Restores what <see cref="SaveState"/> returned and <paramref name="stepCount"/> (what <see cref="StepCount"/> was),
    /// so that the next steps equal the saved optimizer's.
    /// </summary>
    /// <exception cref="ArgumentException">The state belongs to another optimizer or other parameters.</exception>
    public abstract void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount);
}
