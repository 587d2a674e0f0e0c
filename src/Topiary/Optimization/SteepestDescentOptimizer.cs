using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Steepest descent under a norm chosen per tensor, after Bernstein and Newhouse, "Old Optimizer, New Norm: An
/// Anthology" (seed paper #60): w ← w − η·t* with t* = argmax_{‖t‖ ≤ 1} ⟨g, t⟩ (<see cref="DualityMap"/>), so that
/// ⟨g, Δw⟩ = −η·‖g‖_† and ‖Δw‖ = η; with <see cref="ScaleByDualNorm"/> the step is η·‖g‖_†·t*, the exact
/// minimizer of ⟨g, Δw⟩ + ‖Δw‖²/(2η). Without EMAs, Adam is this method under ℓ∞ (sign descent) and Shampoo
/// under the spectral norm. By default matrices and kernels use the spectral norm and biases ℓ∞.
/// </summary>
public sealed class SteepestDescentOptimizer : MaskableOptimizer
{
    private readonly Func<Parameter, SteepestDescentNorm> normOf;

    /// <summary>Creates the optimizer; <paramref name="normOf"/> assigns each tensor its norm.</summary>
    public SteepestDescentOptimizer(IEnumerable<Parameter> parameters, double learningRate, Func<Parameter, SteepestDescentNorm>? normOf = null,
        bool scaleByDualNorm = false) : base(parameters, learningRate)
    {
        this.normOf = normOf ?? DefaultNorm;
        ScaleByDualNorm = scaleByDualNorm;
    }

    /// <summary>Whether the step is multiplied by ‖g‖_†.</summary>
    public bool ScaleByDualNorm { get; }

    /// <summary>Spectral for matrices and kernels, ℓ∞ for vectors.</summary>
    public static SteepestDescentNorm DefaultNorm(Parameter parameter) =>
        parameter.dim() >= 2 ? SteepestDescentNorm.Spectral : SteepestDescentNorm.Infinity;

    /// <summary>The norm used for <paramref name="parameter"/>.</summary>
    public SteepestDescentNorm NormOf(Parameter parameter) => normOf(parameter);

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var parameter in Parameters)
        {
            if (parameter.grad is not { } grad) continue;
            var norm = normOf(parameter);
            var scale = ScaleByDualNorm ? DualityMap.DualNorm(grad, norm) : 1.0;
            parameter.sub_(DualityMap.Direction(grad, norm).mul_(HeldScalar.Of(LearningRate * scale)));
        }
    }

    /// <summary>No state to mask.</summary>
    public override void MaskState(Parameter parameter, Tensor mask) { }

    /// <summary>No state.</summary>
    public override IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();

    /// <summary>No state: only an empty set of buffers fits.</summary>
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> saved)
    {
        if (saved.Count > 0) throw new ArgumentException($"unknown optimizer state '{saved.Keys.First()}' for steepest descent, which keeps none");
    }

    /// <inheritdoc />
    public override void Dispose() { }
}
