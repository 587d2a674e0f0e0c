using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Scion, stochastic conditional gradient with a norm-constrained linear minimization oracle per layer (Pethick,
/// Xie, Erdogan, Antonakopoulos, Cevher, Silveti-Falls, "Training Deep Learning Models with Norm-Constrained LMOs",
/// ICML 2025, seed paper #103). Each tensor keeps the averaged gradient d ← (1 − α)·d + α·g and steps along
/// lmo(d) = argmin_{‖s‖ ≤ ρ} ⟨d, s⟩ in its own <see cref="ScionNorm"/>:
/// unconstrained (uSCG) x ← x + γ·lmo(d), or constrained (SCG) x ← (1 − γ)·x + γ·lmo(d), which keeps x inside the
/// ball of radius ρ (weight decay built in). γ is the learning rate. By default (<see cref="DefaultNorms"/>) the
/// first matrix (input layer) and every vector use <see cref="ScionNorm.ColumnNorm"/>, the last matrix (output
/// layer) <see cref="ScionNorm.Sign"/> and the matrices between them <see cref="ScionNorm.Spectral"/>, the
/// paper's choice for its language models. Pruned entries are re-zeroed by the masks after the step.
/// </summary>
public sealed class ScionOptimizer : MomentumOptimizer
{
    private readonly IReadOnlyList<ScionNorm> norms;

    /// <summary>Creates Scion.</summary>
    /// <param name="parameters">The tensors, input layer first and output layer last (the order of <c>Module.parameters()</c>).</param>
    /// <param name="learningRate">γ.</param>
    /// <param name="averaging">α in (0, 1]: the weight of the new gradient in d (1: no averaging).</param>
    /// <param name="constrained">SCG instead of uSCG.</param>
    /// <param name="radii">ρ per norm; null: 1 for each.</param>
    /// <param name="norms">The norm of each tensor, in order; null: <see cref="DefaultNorms"/>.</param>
    /// <param name="exactPolar">U·Vᵀ by SVD instead of Newton–Schulz (whose singular values reach ≈ 1.2, so SCG may leave the ball slightly).</param>
    public ScionOptimizer(IEnumerable<Parameter> parameters, double learningRate = 0.02, double averaging = 0.1, bool constrained = false,
        ScionRadii? radii = null, IReadOnlyList<ScionNorm>? norms = null, bool exactPolar = false) : base(parameters, learningRate)
    {
        if (!(averaging > 0 && averaging <= 1)) throw new ArgumentOutOfRangeException(nameof(averaging), averaging, "α must lie in (0, 1]");
        if (constrained && !(learningRate <= 1)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the constrained variant needs γ ≤ 1");
        this.norms = norms ?? DefaultNorms(Parameters);
        if (this.norms.Count != Parameters.Count) throw new ArgumentException($"{this.norms.Count} norms for {Parameters.Count} tensors", nameof(norms));
        Averaging = averaging;
        Constrained = constrained;
        Radii = radii ?? new ScionRadii();
        foreach (var norm in Enum.GetValues<ScionNorm>())
            if (!(Radii.Of(norm) > 0 && double.IsFinite(Radii.Of(norm))))
                throw new ArgumentOutOfRangeException(nameof(radii), Radii.Of(norm), $"the radius of the {norm} norm must be a positive finite number");
        ExactPolar = exactPolar;
    }

    /// <summary>α.</summary>
    public double Averaging { get; }
    /// <summary>Whether the iterate is a convex combination with the oracle (SCG) instead of a step along it (uSCG).</summary>
    public bool Constrained { get; }
    /// <summary>ρ per norm.</summary>
    public ScionRadii Radii { get; }
    /// <summary>Whether U·Vᵀ comes from an SVD.</summary>
    public bool ExactPolar { get; }

    /// <summary>The norm of tensor <paramref name="index"/>.</summary>
    public ScionNorm NormOf(int index) => norms[index];

    /// <summary>Column norm for the first matrix and for vectors, sign for the last matrix, spectral for the others.</summary>
    public static IReadOnlyList<ScionNorm> DefaultNorms(IReadOnlyList<Parameter> parameters)
    {
        var matrices = Enumerable.Range(0, parameters.Count).Where(i => parameters[i].dim() >= 2).ToList();
        return Enumerable.Range(0, parameters.Count).Select(i =>
            parameters[i].dim() < 2 || i == matrices[0] ? ScionNorm.ColumnNorm
            : i == matrices[^1] ? ScionNorm.Sign
            : ScionNorm.Spectral).ToList();
    }

    /// <summary>lmo(d) of tensor <paramref name="index"/> for its radius.</summary>
    public Tensor Oracle(int index, Tensor direction) => ScionOracle.Lmo(direction, norms[index], Radii.Of(norms[index]), ExactPolar);

    /// <summary>The averaged gradient d of tensor <paramref name="index"/> (null before its first gradient).</summary>
    public Tensor? AveragedGradient(int index) => Buffers[index];

    /// <inheritdoc />
    public override void Step() => Step(_ => 1.0);

    /// <summary>One step in which tensor i moves with γ·<paramref name="scale"/>(i) (for layer-wise rates built on Scion).</summary>
    internal void Step(Func<int, double> scale)
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            ZeroStartedBuffer(i, grad).mul_(HeldScalar.Of(1 - Averaging)).add_(grad, alpha: HeldScalar.Of(Averaging));
            var rate = LearningRate * scale(i);
            if (Constrained) Parameters[i].mul_(HeldScalar.Of(1 - rate));
            Parameters[i].add_(Oracle(i, Buffers[i]!).mul_(HeldScalar.Of(rate)));
        }
    }

    /// <inheritdoc />
    protected override string StateName => "Scion";
}
