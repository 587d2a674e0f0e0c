using TorchSharp;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Optimization;

/// <summary>
/// Fira's norm-growth limiter (Chen, Feng, Li, Lai, Yue, Yuan, Wang, "Fira: Can We Achieve Full-rank Training of
/// LLMs Under Low-rank Constraint?", arXiv 2024, NeurIPS 2025, seed paper #82): a sequence of updates S₁, S₂, … may grow by at most the factor γ per step,
/// if ‖S_t‖/‖S_{t−1}‖ &gt; γ then S_t ← S_t·γ‖S_{t−1}‖/‖S_t‖, where S_{t−1} is the previous update as limited, so
/// sudden gradient spikes enter gradually and the direction is kept. The first update, and any update after a zero one,
/// passes unchanged: the paper's guard (a 1e-8 added to ‖S_{t−1}‖) would instead hold the update near zero for
/// hundreds of steps after an exactly zero one.
/// </summary>
public sealed class NormGrowthLimiter
{
    /// <summary>The paper's γ.</summary>
    public const double PaperGrowth = 1.01;

    /// <summary>Creates a limiter with growth factor <paramref name="growth"/> = γ ≥ 1 and no previous update.</summary>
    public NormGrowthLimiter(double growth = PaperGrowth)
    {
        if (!(growth >= 1 && double.IsFinite(growth))) throw new ArgumentOutOfRangeException(nameof(growth), growth, "the growth limit γ must be a finite number ≥ 1");
        Growth = growth;
    }

    /// <summary>γ.</summary>
    public double Growth { get; }

    /// <summary>‖S_{t−1}‖ of the last limited update, or null before the first (or after <see cref="Reset"/>).</summary>
    public double? PreviousNorm { get; set; }

    /// <summary>Rescales <paramref name="update"/> in place so that its norm is at most γ‖S_{t−1}‖, and remembers the result's norm.</summary>
    public void Limit(Tensor update)
    {
        using var scope = NewDisposeScope();
        var norm = update.norm().ToDouble();
        if (PreviousNorm is double previous && previous > 0 && norm > Growth * previous)
        {
            update.mul_(HeldScalar.Of(Growth * previous / norm));
            norm = Growth * previous;
        }
        PreviousNorm = norm;
    }

    /// <summary>Forgets the previous update.</summary>
    public void Reset() => PreviousNorm = null;
}
