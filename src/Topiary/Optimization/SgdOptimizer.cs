using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Stochastic gradient descent with heavy-ball momentum, as <c>torch.optim.SGD</c> (dampening 0):
/// b ← μ·b + g (b = g on the first step), w ← w − η·b.
/// </summary>
public sealed class SgdOptimizer : MaskableOptimizer
{
    private readonly Tensor?[] buffers;

    /// <summary>Creates SGD with momentum μ (0 for plain SGD).</summary>
    public SgdOptimizer(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0.9) : base(parameters, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1)");
        Momentum = momentum;
        buffers = new Tensor?[Parameters.Count];
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
            if (buffers[i] is null) buffers[i] = grad.detach().clone().DetachFromDisposeScope();
            else buffers[i]!.mul_(HeldScalar.Of(Momentum)).add_(grad);
            Parameters[i].add_(buffers[i]!, alpha: HeldScalar.Of(-LearningRate));
        }
    }

    /// <inheritdoc />
    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
            if (ReferenceEquals(Parameters[i], parameter) || Parameters[i].Handle == parameter.Handle)
            {
                buffers[i]?.mul_(mask);
                return;
            }
        throw new ArgumentException("the parameter is not optimized by this optimizer", nameof(parameter));
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var state = new Dictionary<string, Tensor>();
        for (var i = 0; i < Parameters.Count; i++)
            if (buffers[i] is { } b) state[$"{i}.momentum_buffer"] = b;
        return state;
    }

    /// <inheritdoc />
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> saved) => LoadMomenta(saved, buffers, "SGD");

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var b in buffers) b?.Dispose();
    }
}
