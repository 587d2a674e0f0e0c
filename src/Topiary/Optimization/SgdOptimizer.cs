using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Stochastic gradient descent with heavy-ball momentum, as <c>torch.optim.SGD</c> (dampening 0):
/// b ← μ·b + g (b = g on the first step), w ← w − η·b.
/// </summary>
public sealed class SgdOptimizer : MomentumOptimizer
{
    /// <summary>Creates SGD with momentum μ (0 for plain SGD).</summary>
    public SgdOptimizer(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0.9) : base(parameters, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1)");
        Momentum = momentum;
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            if (Momentum == 0)
            {
                Parameters[i].add_(grad, alpha: HeldScalar.Of(-LearningRate));
                continue;
            }
            // The buffer outlives the caller's dispose scope.
            if (Buffers[i] is null) Buffers[i] = grad.detach().clone().DetachFromDisposeScope();
            else Buffers[i]!.mul_(HeldScalar.Of(Momentum)).add_(grad);
            Parameters[i].add_(Buffers[i]!, alpha: HeldScalar.Of(-LearningRate));
        }
    }

    /// <inheritdoc />
    protected override string StateName => "SGD";
}
