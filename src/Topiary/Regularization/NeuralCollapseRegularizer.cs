using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Feature regularizers that induce neural collapse, after Liu, Zhang, Hu, Cao, Pan, Yao, "Inducing Neural Collapse in Deep
/// Long-tailed Learning" (AISTATS 2023, seed paper #57): two explicit terms on the features h (here the input of the last
/// linear or convolution layer, <see cref="GradientRegularizer.NeedsActivations"/>) that pull each class's features to
/// their mean (NC1) and push the class means apart into a simplex equiangular tight frame (NC2), which under class
/// imbalance does not form by itself. On a batch with K ≥ 2 classes present, class means μ_k, μ̄ = (1/K)Σ_k μ_k:
/// <list type="bullet">
/// <item>within-class variability L_W = tr(Σ_W)/tr(Σ_B), Σ_W = (1/K)Σ_k (1/n_k)Σ_{y_i = k}(h_i − μ_k)(h_i − μ_k)ᵀ,
/// Σ_B = (1/K)Σ_k (μ_k − μ̄)(μ_k − μ̄)ᵀ (the trace form of Papyan et al.'s NC1, tr(Σ_WΣ_B⁺)/K);</item>
/// <item>equiangularity L_B = (1/(K(K−1)))Σ_{k≠l}(cos(μ_k − μ̄, μ_l − μ̄) + 1/(K−1))², zero exactly when the centered means
/// have the pairwise cosine −1/(K−1) of a simplex ETF, the largest equal angle K vectors can have.</item>
/// </list>
/// R = λ·(L_W + β·L_B), β = <see cref="BetweenWeight"/>. Both terms are invariant to scaling and translating h, so they
/// shape the features without shrinking them (the classifier's loss sets their scale). Both weight the classes equally,
/// whatever their counts in the batch, so that the head classes do not set the geometry alone. The paper's exact terms
/// could not be read here (only its abstract): these are the standard NC1/NC2 measures made penalties, our reading of
/// "features of a class close to each other, of different classes maximally distant". A batch with fewer than two classes
/// adds nothing.
/// </summary>
public sealed class NeuralCollapseRegularizer : GradientRegularizer
{
    // Keeps the ratio and the cosines finite when the features or a class mean are degenerate (all equal).
    private const double Tiny = 1e-12;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="betweenWeight">β, the weight of the equiangularity term against the within-class term.</param>
    /// <exception cref="ArgumentOutOfRangeException">β is negative or not finite.</exception>
    public NeuralCollapseRegularizer(double betweenWeight = 1)
    {
        if (!(betweenWeight >= 0 && double.IsFinite(betweenWeight)))
            throw new ArgumentOutOfRangeException(nameof(betweenWeight), betweenWeight, $"the between-class weight must be a number ≥ 0, got {betweenWeight}");
        BetweenWeight = betweenWeight;
    }

    /// <summary>β, the weight of the equiangularity term L_B.</summary>
    public double BetweenWeight { get; }

    /// <inheritdoc />
    public override string Name => "nc";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var features = PenultimateRepresentation.Of(context, Name);
        var labels = ClassTargets.Require(context.Targets, features.shape[0], Name);
        var terms = Terms(features, labels);
        if (terms is null) return null;
        var (within, between) = terms.Value;
        return within.add(between.mul(HeldScalar.Of(BetweenWeight))).mul(HeldScalar.Of(strength));
    }

    /// <summary>(L_W, L_B) of features (B, d) with class indices (B), differentiable; null when fewer than two classes are present.</summary>
    public static (Tensor Within, Tensor Between)? Terms(Tensor features, Tensor labels)
    {
        var h = features.flatten(1);
        var membership = Membership(labels, h.dtype);
        var classes = membership.shape[1];
        if (classes < 2) return null;
        var counts = membership.sum(new long[] { 0 });
        var means = membership.t().matmul(h).div(counts.unsqueeze(1));
        var centered = means.sub(means.mean([0], keepdim: true));
        var deviations = h.sub(membership.matmul(means));
        var perExampleWeight = membership.matmul(counts.reciprocal());
        var withinTrace = deviations.square().sum(1).mul(perExampleWeight).sum().div(HeldScalar.Of(classes));
        var betweenTrace = centered.square().sum().div(HeldScalar.Of(classes));
        var within = withinTrace.div(betweenTrace.clamp_min(HeldScalar.Of(Tiny)));

        var directions = centered.div(centered.norm(1, keepdim: true).clamp_min(HeldScalar.Of(Tiny)));
        var cosines = directions.matmul(directions.t());
        var offDiagonal = ones(classes, classes, dtype: h.dtype, device: h.device).sub(eye(classes, dtype: h.dtype, device: h.device));
        var between = cosines.add(HeldScalar.Of(1.0 / (classes - 1))).square().mul(offDiagonal).sum()
            .div(HeldScalar.Of((double)classes * (classes - 1)));
        return (within, between);
    }

    /// <summary>Acts on features, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    // (B, K) 0/1 matrix of the K classes present in the batch, in increasing order of the index.
    internal static Tensor Membership(Tensor labels, ScalarType dtype)
    {
        var oneHot = nn.functional.one_hot(labels.to(int64), labels.max().item<long>() + 1).to(int64);
        var counts = oneHot.sum(new long[] { 0 }).cpu().data<long>().ToArray();
        var present = Enumerable.Range(0, counts.Length).Where(k => counts[k] > 0).Select(k => (long)k).ToArray();
        return oneHot.index_select(1, tensor(present, device: labels.device)).to(dtype);
    }
}
