using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The HyperSparse regularizer of Glandorf, Kaiser, Rosenhahn, "HyperSparse Neural Networks: Shifting
/// Exploration to Exploitation through Adaptive Regularization" (ICCV 2023 workshops, arXiv 2308.07163):
/// HS(w) = Σ_i |w_i|·T/sg(T) − Σ_i |w_i|, with T = Σ_j tanh(s·|w_j|) over all prunable weights,
/// s = 0.6585 / |w|_(κ) (the ⌊κ·N⌋-th smallest magnitude, κ the prune rate) and sg the stop-gradient.
/// The value is 0, but ∂HS/∂w_k = sign(w_k)·‖w‖₁·s·sech²(s·|w_k|)/T: strong L1-like shrinkage for the
/// small weights that fades for the largest ones, which are left to fit the data.
/// The statistics (s, ‖w‖₁, T) are global; they are recomputed when the first weight of each step
/// arrives (the weights only change at the optimizer step).
/// </summary>
public sealed class HyperSparsePenalty : GradientRegularizer
{
    private readonly IReadOnlyList<Tensor> weights;
    private readonly HashSet<IntPtr> members;
    private double s, l1, t;

    /// <summary>Creates the penalty over <paramref name="weights"/> (all prunable weights) for prune rate κ ∈ (0, 1).</summary>
    public HyperSparsePenalty(IReadOnlyList<Tensor> weights, double pruneRate)
    {
        if (weights.Count == 0) throw new ArgumentException("HyperSparse needs at least one weight", nameof(weights));
        if (!(pruneRate is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(pruneRate), pruneRate, "the prune rate κ must lie in (0, 1)");
        this.weights = weights;
        members = weights.Select(w => w.Handle).ToHashSet();
        PruneRate = pruneRate;
    }

    /// <summary>κ.</summary>
    public double PruneRate { get; }

    /// <summary>Factor on the strength passed in (ART's λ_e/λ_0 = η^e; 0 turns the penalty off for fine-tuning).</summary>
    public double Multiplier { get; set; } = 1;

    /// <inheritdoc />
    public override string Name => "hypersparse";

    /// <summary>HS(w) over <paramref name="weights"/>, differentiable (for checking the closed-form gradient).</summary>
    public static Tensor Value(IReadOnlyList<Tensor> weights, double pruneRate)
    {
        var w = cat(weights.Select(x => x.flatten()).ToArray()).abs();
        var scale = Scale(w.detach(), pruneRate);
        var tanhSum = w.mul(scale).tanh().sum();
        return w.sum().mul(tanhSum).div(tanhSum.detach()).sub(w.sum());
    }

    /// <summary>g ← g + λ·sign(w)·‖w‖₁·s·sech²(s|w|)/T for the weights this penalty covers; other tensors are untouched.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        var lambda = strength * Multiplier;
        if (lambda == 0 || !members.Contains(weight.Handle)) return;
        using var scope = NewDisposeScope();
        if (weight.Handle == weights[0].Handle || t == 0) Refresh();
        var w = weight.detach();
        var sech2 = w.abs().mul(HeldScalar.Of(s)).tanh().square().neg_().add_(HeldScalar.Of(1));
        grad.add_(w.sign().mul_(sech2), alpha: HeldScalar.Of(lambda * l1 * s / t));
    }

    /// <summary>This tensor's share of HS: ‖w_tensor‖₁·T/sg(T) − ‖w_tensor‖₁ with the global T; the shares sum to HS.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        if (!members.Contains(weight.Handle)) return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        var all = cat(weights.Select(x => x.flatten()).ToArray()).abs();
        var tanhSum = all.mul(Scale(all.detach(), PruneRate)).tanh().sum();
        var own = weight.abs().sum();
        return own.mul(tanhSum).div(tanhSum.detach()).sub(own).mul(HeldScalar.Of(strength * Multiplier));
    }

    private void Refresh()
    {
        using var scope = NewDisposeScope();
        var w = cat(weights.Select(x => x.detach().flatten()).ToArray()).abs();
        s = Scale(w, PruneRate).to(float64).item<double>();
        l1 = w.sum(type: float64).item<double>();
        t = Math.Max(w.mul(HeldScalar.Of(s)).tanh().sum(type: float64).item<double>(), double.Epsilon);
    }

    /// <summary>s = 0.6585/|w|_(κ): tanh(0.6585) ≈ 0.577, so the κ-quantile sits where sech² has fallen to 2/3.</summary>
    private static Tensor Scale(Tensor magnitudes, double pruneRate)
    {
        var n = magnitudes.shape[0];
        var k = Math.Min(n - 1, (long)Math.Floor(pruneRate * n));
        // kthvalue is 1-based and linear-time; a full sort of every weight each step would dominate the step.
        return magnitudes.kthvalue(k + 1, 0).values.clamp_min(HeldScalar.Of(1e-12)).reciprocal().mul(HeldScalar.Of(0.6585));
    }
}
