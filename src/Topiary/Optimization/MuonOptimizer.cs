using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Muon, momentum orthogonalized by Newton–Schulz (Jordan et al. 2024), which Kovalev, "Understanding Gradient
/// Orthogonalization for Deep Learning via Non-Euclidean Trust-Region Optimization" (seed paper #14) shows to be
/// a stochastic trust-region method under the spectral norm:
/// M ← β·M + G; O ≈ polar(G + β·M) (Nesterov) or polar(M); W ← W − η·s·O − η·λ·W, with s = √max(1, rows/cols).
/// A kernel is seen as out × in·k·k; a bias as a 1 × n matrix, whose polar factor is g/‖g‖ (normalized SGD,
/// as the paper notes). Pruned entries are re-zeroed by the masks after the step.
/// </summary>
public sealed class MuonOptimizer : MomentumOptimizer
{
    /// <summary>Creates Muon with momentum <paramref name="momentum"/> = β, decoupled weight decay λ and Newton–Schulz (or, when <paramref name="exactPolar"/>, SVD) orthogonalization.</summary>
    public MuonOptimizer(IEnumerable<Parameter> parameters, double learningRate = 0.02, double momentum = 0.95, bool nesterov = true,
        double weightDecay = 0, bool exactPolar = false) : base(parameters, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1)");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be ≥ 0");
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        ExactPolar = exactPolar;
    }

    /// <summary>β.</summary>
    public double Momentum { get; }
    /// <summary>Whether the Nesterov form G + β·M is orthogonalized.</summary>
    public bool Nesterov { get; }
    /// <summary>λ (decoupled).</summary>
    public double WeightDecay { get; }
    /// <summary>Whether the polar factor comes from an SVD instead of Newton–Schulz.</summary>
    public bool ExactPolar { get; }

    /// <summary>The update direction s·polar(direction) for one tensor (before the learning rate).</summary>
    public Tensor Direction(Tensor direction)
    {
        using var scope = NewDisposeScope();
        var matrix = direction.dim() >= 2 ? direction.reshape(direction.shape[0], -1) : direction.reshape(1, -1);
        var polar = ExactPolar ? NewtonSchulz.Exact(matrix) : NewtonSchulz.Approximate(matrix);
        var scale = Math.Sqrt(Math.Max(1.0, (double)matrix.shape[0] / matrix.shape[1]));
        return polar.mul(HeldScalar.Of(scale)).reshape(direction.shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            ZeroStartedBuffer(i, grad).mul_(HeldScalar.Of(Momentum)).add_(grad);
            var direction = Nesterov ? grad.add(Buffers[i]!, alpha: HeldScalar.Of(Momentum)) : Buffers[i]!;
            if (WeightDecay > 0) Parameters[i].mul_(HeldScalar.Of(1 - LearningRate * WeightDecay));
            Parameters[i].sub_(Direction(direction).mul_(HeldScalar.Of(LearningRate)));
        }
    }

    /// <inheritdoc />
    protected override string StateName => "Muon";
}
