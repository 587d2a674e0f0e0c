using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// Noise-adaptive layer-wise learning rates on top of Scion, after Hao, Gong, Xu, Wang, Liu, "Noise-Adaptive
/// Layerwise Learning Rates: Accelerating Geometry-Aware Optimization for Deep Neural Network Training" (arXiv 2510.14009,
/// 2025, seed paper #67; its algorithm is called LANTON). Each tensor i tracks its gradient noise in the dual norm of its
/// Scion norm with the paper's "practical option", H_i ← β₂·H_i + (1 − β₂)·‖g_i,t − g_i,t−1‖_*², the previous step's
/// stochastic gradient standing in for an independent second sample (from the second step on). That update is taken from a
/// summary of the paper's Algorithm 1 (themoonlight.io's review); the paper's body could not be read here. The rate rule is
/// <b>ours, not the paper's</b> (the summary breaks off before it): η_i = η·√(min_{j ~ i} H_j / H_i), where j ~ i ranges over
/// the tensors that share i's norm, so the quietest tensor of each group keeps η and a noisier one gets a rate inversely
/// proportional to its noise level √H_i. The ratio makes the estimate's start-up bias cancel, so none is corrected.
/// </summary>
public sealed class NoiseAdaptiveScionOptimizer : MaskableOptimizer
{
    private readonly ScionOptimizer scion;
    private readonly double?[] noise;
    private readonly Tensor?[] previous;

    /// <summary>Creates the optimizer; the Scion settings are <see cref="ScionOptimizer"/>'s.</summary>
    /// <param name="parameters">The tensors, input layer first and output layer last.</param>
    /// <param name="learningRate">η, the rate of each group's quietest tensor.</param>
    /// <param name="averaging">Scion's α.</param>
    /// <param name="noiseDecay">β₂ in [0, 1).</param>
    /// <param name="constrained">SCG instead of uSCG (each tensor's η_i ≤ η ≤ 1 keeps it in its ball).</param>
    /// <param name="radii">Scion's ρ per norm.</param>
    /// <param name="norms">Scion's norm per tensor.</param>
    /// <param name="exactPolar">Scion's U·Vᵀ by SVD.</param>
    public NoiseAdaptiveScionOptimizer(IEnumerable<Parameter> parameters, double learningRate = 0.02, double averaging = 0.1, double noiseDecay = 0.99,
        bool constrained = false, ScionRadii? radii = null, IReadOnlyList<ScionNorm>? norms = null, bool exactPolar = false)
        : base(parameters, learningRate)
    {
        if (!(noiseDecay >= 0 && noiseDecay < 1)) throw new ArgumentOutOfRangeException(nameof(noiseDecay), noiseDecay, "β₂ must lie in [0, 1)");
        scion = new ScionOptimizer(Parameters, learningRate, averaging, constrained, radii, norms, exactPolar);
        NoiseDecay = noiseDecay;
        noise = new double?[Parameters.Count];
        previous = new Tensor?[Parameters.Count];
    }

    /// <summary>β₂.</summary>
    public double NoiseDecay { get; }

    /// <summary>The Scion optimizer that takes the steps.</summary>
    public ScionOptimizer Scion => scion;

    /// <summary>H_i, the tracked squared dual-norm change of tensor <paramref name="index"/>'s gradient (null until its second gradient).</summary>
    public double? Noise(int index) => noise[index];

    /// <summary>η_i / η = √(min_{j ~ i} H_j / H_i); 1 while tensor i or its group has no estimate yet (or no noise).</summary>
    public double RateScale(int index)
    {
        if (noise[index] is not { } own || own <= 0) return 1;
        var group = Enumerable.Range(0, noise.Length).Where(j => scion.NormOf(j) == scion.NormOf(index)).ToList();
        if (group.Any(j => noise[j] is null)) return 1;
        return Math.Sqrt(group.Min(j => noise[j]!.Value) / own);
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        using (var scope = NewDisposeScope())
            for (var i = 0; i < Parameters.Count; i++)
            {
                if (Parameters[i].grad is not { } grad) continue;
                if (previous[i] is { } last)
                {
                    var change = ScionOracle.DualNorm(grad.sub(last), scion.NormOf(i));
                    noise[i] = noise[i] is { } h ? NoiseDecay * h + (1 - NoiseDecay) * change * change : (1 - NoiseDecay) * change * change;
                }
                // Copied into the kept buffer: a new tensor per tensor and step would allocate in the training loop.
                if (previous[i] is { } kept) kept.copy_(grad);
                else previous[i] = grad.detach().clone().DetachFromDisposeScope();
            }
        var scales = Enumerable.Range(0, Parameters.Count).Select(RateScale).ToArray();
        scion.LearningRate = LearningRate;
        scion.Step(i => scales[i]);
    }

    /// <inheritdoc />
    public override void MaskState(Parameter parameter, Tensor mask)
    {
        scion.MaskState(parameter, mask);
        using var _ = no_grad();
        previous[IndexOf(parameter)]?.mul_(mask);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var state = new Dictionary<string, Tensor>(scion.StateBuffers());
        for (var i = 0; i < noise.Length; i++)
        {
            if (noise[i] is { } h) state[$"{i}.noise"] = tensor(h, float64);
            if (previous[i] is { } g) state[$"{i}.previous_gradient"] = g;
        }
        return state;
    }

    /// <inheritdoc />
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> saved)
    {
        var names = Enumerable.Range(0, Parameters.Count).Select(i => $"{i}.noise").ToList();
        var gradients = Enumerable.Range(0, Parameters.Count).Select(i => $"{i}.previous_gradient").ToList();
        scion.LoadState(StepCount, saved.Where(b => !names.Contains(b.Key) && !gradients.Contains(b.Key)).ToDictionary());
        for (var i = 0; i < noise.Length; i++)
        {
            noise[i] = saved.TryGetValue(names[i], out var h) ? h.to(float64).item<double>() : null;
            saved.TryGetValue(gradients[i], out var g);
            if (g is not null) RequireShape(gradients[i], g, i);
            previous[i]?.Dispose();
            previous[i] = g?.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        scion.Dispose();
        foreach (var g in previous) g?.Dispose();
    }
}
