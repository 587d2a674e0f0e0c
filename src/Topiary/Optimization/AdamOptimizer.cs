using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Adam (Kingma and Ba 2015) with coupled gradients, as <c>torch.optim.Adam</c> without weight decay:
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², w ← w − η·m̂/(√v̂ + ε). With <see cref="SpectralUpdates"/> each
/// tensor's step u = m̂/(√v̂ + ε) is rescaled to w ← w − η·√(fan_out/fan_in)·u/‖u‖₂, the update scaling of Yang, Simon
/// and Bernstein's spectral condition for feature learning (seed paper #47, <see cref="SpectralScaling"/>).
/// </summary>
public sealed class AdamOptimizer : MaskableOptimizer
{
    private readonly Tensor[] firstMoments;
    private readonly Tensor[] secondMoments;

    /// <summary>Creates Adam with PyTorch's defaults unless given.</summary>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        bool spectralUpdates = false) : base(parameters, learningRate)
    {
        SpectralUpdates = spectralUpdates;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        firstMoments = Parameters.Select(p => zeros_like(p).detach().DetachFromDisposeScope()).ToArray();
        secondMoments = Parameters.Select(p => zeros_like(p).detach().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }
    /// <summary>β2.</summary>
    public double Beta2 { get; }
    /// <summary>ε.</summary>
    public double Epsilon { get; }
    /// <summary>Whether each tensor's step has spectral norm η·√(fan_out/fan_in) (one SVD per tensor and step).</summary>
    public bool SpectralUpdates { get; }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        var biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            firstMoments[i].mul_(HeldScalar.Of(Beta1)).add_(grad, alpha: HeldScalar.Of(1 - Beta1));
            secondMoments[i].mul_(HeldScalar.Of(Beta2)).addcmul_(grad, grad, value: HeldScalar.Of(1 - Beta2));
            var denominator = secondMoments[i].sqrt().div_(HeldScalar.Of(biasCorrection2Sqrt)).add_(HeldScalar.Of(Epsilon));
            if (SpectralUpdates) Parameters[i].sub_(SpectralScaling.Normalize(firstMoments[i].div(denominator), LearningRate));
            else Parameters[i].addcdiv_(firstMoments[i], denominator, value: HeldScalar.Of(-LearningRate / biasCorrection1));
        }
    }

    /// <inheritdoc />
    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        var i = IndexOf(parameter);
        firstMoments[i].mul_(mask);
        secondMoments[i].mul_(mask);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var state = new Dictionary<string, Tensor>();
        for (var i = 0; i < Parameters.Count; i++)
        {
            state[$"{i}.exp_avg"] = firstMoments[i];
            state[$"{i}.exp_avg_sq"] = secondMoments[i];
        }
        return state;
    }

    /// <inheritdoc />
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> buffers)
    {
        var expected = StateBuffers().Keys.ToHashSet();
        if (buffers.Keys.FirstOrDefault(k => !expected.Contains(k)) is { } unknown)
            throw new ArgumentException($"unknown optimizer state '{unknown}' for Adam");
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            foreach (var (name, target) in new[] { ($"{i}.exp_avg", firstMoments[i]), ($"{i}.exp_avg_sq", secondMoments[i]) })
            {
                if (!buffers.TryGetValue(name, out var source)) throw new ArgumentException($"optimizer state '{name}' is missing");
                RequireShape(name, source, i);
                target.copy_(source);
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var t in firstMoments.Concat(secondMoments)) t.Dispose();
    }
}
