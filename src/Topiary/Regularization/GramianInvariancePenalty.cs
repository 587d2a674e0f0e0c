using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// An invariance penalty after Khezeli, Blaas, Soboczenski, Chia, Kalantari, "On Invariance Penalties for Risk Minimization"
/// (arXiv 2106.09777, 2021, seed paper #55), which replaces IRMv1's ‖∇_w R^e(w∘Φ)‖² by a penalty built on the Gramian
/// G_e = E_e[ΦΦᵀ] of the representation in each environment e. <b>The formula is our derivation from the paper's abstract,
/// not the paper's own</b> (its body could not be read here): for the squared loss ∇_w R^e = 2(G_e·w − E_e[ΦY]), so IRMv1
/// shrinks with G_e's smallest eigenvalues and vanishes for non-invariant representations whose Gramian is ill-conditioned,
/// while G_e⁻¹∇_w R^e = 2(w − w_e*) measures the distance of the shared head w to environment e's optimal head w_e*.
/// Per environment: P_e = ‖∇_W R^e·(G_e + εI)⁻¹‖²_F, with ∇_W R^e = E_e[g·φᵀ] and G_e = E_e[φφᵀ] over the environment's
/// examples in the batch, φ = (h, 1) the penultimate representation h (<see cref="PenultimateRepresentation"/>) with a 1 for
/// the head's bias, W the classifier head (<see cref="ClassifierHead"/>) with its bias as last column, g = softmax(z) − onehot(y)
/// the cross-entropy's gradient on the logits z = W·φ, and ε = <see cref="Ridge"/>·tr(G_e)/k (k the length of φ): a Tikhonov
/// term relative to G_e's mean eigenvalue, so that P_e does not depend on the features' scale beyond the head's. Under the
/// squared loss and ε = 0, P_e = 4‖W − W_e*‖²_F. R = λ·mean_e P_e over the environments present in the batch.
/// </summary>
/// <remarks>
/// <para>Environments are the classes by default (as <see cref="GroupDro"/>'s groups; then each environment holds a single label
/// and P_e measures how far the head is from stationary on each class's own examples, not an invariance across domains), or
/// the ids a function of (inputs, targets) gives. Under the cross-entropy the environment's optimal head need not exist, so
/// (G_e + εI)⁻¹ acts as a Gauss–Newton-like preconditioner of the gradient (the Gramian, not the Hessian), an adaptation of
/// the squared-loss identity above.</para>
/// <para>∇_W R^e lies in the span of the environment's φ, so G_e's null space (fewer examples than features) does not
/// inflate P_e; ε bounds what G_e's tiny non-zero eigenvalues can contribute.</para>
/// </remarks>
public sealed class GramianInvariancePenalty : GradientRegularizer
{
    private readonly BatchGroups environments;

    /// <summary>The penalty over the classes, or over the environments <paramref name="environmentOf"/> assigns.</summary>
    /// <param name="ridge">ε relative to G_e's mean eigenvalue (0: the exact inverse, which fails on a singular G_e).</param>
    /// <param name="environments">The number of environments; null: the classes, and then <paramref name="environmentOf"/> must be null.</param>
    /// <param name="environmentOf">Environment ids (int64 in [0, environments), one per example) of a batch's (inputs, targets).</param>
    /// <exception cref="ArgumentOutOfRangeException">The ridge is negative or not finite, or the number of environments is below 1.</exception>
    /// <exception cref="ArgumentException">An environment function without a number of environments.</exception>
    public GramianInvariancePenalty(double ridge = DefaultRidge, int? environments = null, Func<Tensor, Tensor, Tensor>? environmentOf = null)
    {
        if (!(ridge >= 0) || double.IsInfinity(ridge)) throw new ArgumentOutOfRangeException(nameof(ridge), ridge, $"ridge must be finite and ≥ 0, got {ridge}");
        Ridge = ridge;
        this.environments = new BatchGroups(environments, environmentOf, nameof(environments));
    }

    /// <summary>The default relative ridge, our choice (the paper's regularization could not be read).</summary>
    public const double DefaultRidge = 1e-2;

    /// <summary>ε relative to tr(G_e)/k.</summary>
    public double Ridge { get; }

    /// <inheritdoc />
    public override string Name => "gram";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <summary>
    /// ‖∇·(G + εI)⁻¹‖²_F for one environment: ∇ = (1/n)·gᵀφ, G = (1/n)·φᵀφ, ε = <paramref name="ridge"/>·tr(G)/k; differentiable.
    /// </summary>
    /// <param name="features">φ, (n, k): the environment's representations.</param>
    /// <param name="logitGradients">g, (n, C): the loss's gradient on each example's outputs (e.g. softmax − onehot, or 2(z − y) for the squared loss).</param>
    /// <param name="ridge">ε relative to tr(G)/k.</param>
    /// <exception cref="ArgumentException">The shapes do not match, or there are no examples.</exception>
    public static Tensor EnvironmentPenalty(Tensor features, Tensor logitGradients, double ridge)
    {
        if (features.dim() != 2 || logitGradients.dim() != 2 || features.shape[0] != logitGradients.shape[0] || features.shape[0] == 0)
            throw new ArgumentException($"the Gramian penalty needs features (n, k) and logit gradients (n, C) of the same n ≥ 1; got [{string.Join(",", features.shape)}] and [{string.Join(",", logitGradients.shape)}]");
        var n = HeldScalar.Of(features.shape[0]);
        var k = features.shape[1];
        var gradient = logitGradients.t().matmul(features).div(n);
        var gramian = features.t().matmul(features).div(n);
        // A zero φ has a zero gradient; the floor keeps the solve defined there.
        var epsilon = gramian.trace().mul(HeldScalar.Of(ridge / k)).clamp_min(HeldScalar.Of(1e-30));
        var regularized = gramian.add(eye(k, dtype: gramian.dtype, device: gramian.device).mul(epsilon));
        return linalg.solve(regularized, gradient.t()).square().sum();
    }

    /// <summary>λ·mean_e P_e over the environments present in the batch; null at λ = 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">λ is negative or not finite.</exception>
    /// <exception cref="ArgumentException">The targets are not class indices, or an environment id is out of range.</exception>
    /// <exception cref="InvalidOperationException">The model has no hidden representation or its last layer is not linear.</exception>
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (!(strength >= 0) || double.IsInfinity(strength)) throw new ArgumentOutOfRangeException(nameof(strength), strength, $"the Gramian penalty's λ must be finite and ≥ 0, got {strength}");
        ClassTargets.Require(context.Outputs, context.Targets, Name);
        if (strength == 0 || context.Targets.shape[0] == 0) return null;
        var (features, logitGradients) = HeadInputsAndGradients(context);
        var (ids, count) = environments.Of(context);
        var penalties = new List<Tensor>();
        for (var e = 0; e < count; e++)
        {
            var members = ids.eq(HeldScalar.Of((long)e)).nonzero().flatten();
            if (members.shape[0] == 0) continue;
            penalties.Add(EnvironmentPenalty(features.index_select(0, members), logitGradients.index_select(0, members), Ridge));
        }
        return stack(penalties).mean().mul(HeldScalar.Of(strength));
    }

    /// <summary>φ = (h, 1) (h alone for a head without bias) and softmax(z) − onehot(y), z the head's logits on h, both with their graph.</summary>
    private (Tensor Features, Tensor LogitGradients) HeadInputsAndGradients(RegularizationContext context)
    {
        var hidden = PenultimateRepresentation.Of(context, Name);
        var head = ClassifierHead.Layer(context.Model, Name);
        var logits = nn.functional.linear(hidden, head.weight!, head.bias);
        var gradients = nn.functional.softmax(logits, 1).sub(nn.functional.one_hot(context.Targets, logits.shape[1]).to(logits.dtype));
        var features = head.bias is null ? hidden : cat([hidden, ones(hidden.shape[0], 1, dtype: hidden.dtype, device: hidden.device)], 1);
        return (features, gradients);
    }

    /// <summary>Acts on the features and the head: zero per tensor.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
