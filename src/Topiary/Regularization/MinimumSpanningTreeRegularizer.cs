using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// T-REG, the minimum-spanning-tree regularizer of Mordacq, Loiseaux, Kalogeiton, Oudot, "T-REGS: Minimum Spanning Tree
/// Regularization for Self-Supervised Learning" (NeurIPS 2025, seed paper #83): maximize the length E(MST(Z)) =
/// Σ_{(i,j) ∈ MST} ‖z_i − z_j‖₂ of the Euclidean minimum spanning tree of a batch of embeddings while holding them to the
/// unit sphere by a soft constraint; a longer tree spreads the points, which counters dimensional collapse and, on a
/// compact manifold, drives them toward the uniform distribution. Here
/// R = λ·(−E(MST(H))/B + β·(1/B)Σ_i(‖h_i‖₂ − 1)²) over the B rows of the representation H that the last linear or
/// convolution layer reads (<see cref="GradientRegularizer.NeedsActivations"/>), β = <see cref="SphereWeight"/>.
/// The tree is chosen by Prim's algorithm without gradient (<see cref="MinimumSpanningTree"/>), its length differentiated
/// through the chosen edges. Adapted: the paper regularizes the embeddings of a self-supervised joint-embedding model
/// beside its invariance loss; Topiary has no self-supervised pipeline, so it is applied to a supervised model's
/// penultimate features beside the data loss. The 1/B scaling and the default β = 1 are ours (the paper's constants
/// were not at hand); without the sphere term (β = 0) the length grows with the features' scale without bound.
/// </summary>
public sealed class MinimumSpanningTreeRegularizer : GradientRegularizer
{
    /// <summary>Creates the regularizer.</summary>
    /// <param name="sphereWeight">β, the weight of the soft unit-sphere constraint.</param>
    /// <exception cref="ArgumentOutOfRangeException">β is negative or not finite.</exception>
    public MinimumSpanningTreeRegularizer(double sphereWeight = 1)
    {
        if (!(sphereWeight >= 0 && double.IsFinite(sphereWeight)))
            throw new ArgumentOutOfRangeException(nameof(sphereWeight), sphereWeight, $"the sphere weight must be a number ≥ 0, got {sphereWeight}");
        SphereWeight = sphereWeight;
    }

    /// <summary>β, the weight of the soft constraint (1/B)Σ_i(‖h_i‖ − 1)².</summary>
    public double SphereWeight { get; }

    /// <inheritdoc />
    public override string Name => "tregs";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        return Objective(PenultimateRepresentation.Of(context, Name), SphereWeight).mul(HeldScalar.Of(strength));
    }

    /// <summary>−E(MST(H))/B + β·(1/B)Σ_i(‖h_i‖₂ − 1)² for the rows of <paramref name="representation"/> (B, d), differentiable.</summary>
    public static Tensor Objective(Tensor representation, double sphereWeight)
    {
        var h = representation.flatten(1);
        var count = HeldScalar.Of((double)h.shape[0]);
        var spread = MinimumSpanningTree.Length(h).div(count).neg();
        if (sphereWeight == 0) return spread;
        var sphere = h.norm(1).sub(HeldScalar.Of(1.0)).square().mean();
        return spread.add(sphere.mul(HeldScalar.Of(sphereWeight)));
    }

    /// <summary>Acts on features, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
