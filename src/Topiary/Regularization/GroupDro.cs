using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Group distributionally robust optimization (GroupDRO) of Sagawa, Koh, Hashimoto, Liang, "Distributionally Robust Neural
/// Networks for Group Shifts: On the Importance of Regularization for Worst-Case Generalization" (ICLR 2020, seed paper #93,
/// Algorithm 1): online weights q on the groups follow an exponentiated-gradient ascent, q_g ← q_g·exp(η_q·(L_g + C/√n_g))
/// renormalized, and the model descends Σ_g q_g·L_g (q held), L_g the mean cross-entropy of the batch's examples of group g,
/// C/√n_g the paper's optional group adjustment. As a loss penalty with strength λ ∈ [0, 1]:
/// λ·(Σ_g q_g·L_g − L), L the batch's mean cross-entropy, so that a mean cross-entropy task loss becomes
/// (1 − λ)·L + λ·Σ_g q_g·L_g: ERM at λ = 0, GroupDRO at λ = 1.
/// </summary>
/// <remarks>
/// <para>Groups are the classes by default (class-level DRO, a worst-class objective; their number is the width of the
/// outputs), or the ids a function of (inputs, targets) gives. q starts uniform and travels in checkpoints
/// (<see cref="SaveState"/>).</para>
/// <para>A group absent from the batch keeps its weight exactly: the update and its renormalization act on the groups present
/// (their total weight is kept). The authors' code multiplies an absent group's weight by exp(0) = 1 and renormalizes all,
/// so absent groups lose weight to present ones with positive loss although nothing was seen of them.</para>
/// <para>q is updated at every evaluation of the penalty: once per plain step, once per pass under a regularizer that runs
/// several (SAM).</para>
/// </remarks>
public sealed class GroupDro : GradientRegularizer
{
    private readonly BatchGroups groups;
    private readonly double[]? groupSizes;
    private Tensor? weights;

    /// <summary>GroupDRO over the classes, or over the groups <paramref name="groupOf"/> assigns.</summary>
    /// <param name="eta">η_q, the step size of q's update (the paper's 0.01).</param>
    /// <param name="adjustment">C of the group adjustment C/√n_g (0: none); needs <paramref name="groupSizes"/>.</param>
    /// <param name="groups">The number of groups; null: the classes (the outputs' width), and then <paramref name="groupOf"/> must be null.</param>
    /// <param name="groupOf">Group ids (int64 in [0, groups), one per example) of a batch's (inputs, targets); null: the targets.</param>
    /// <param name="groupSizes">n_g, the number of training examples of each group, for the adjustment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range.</exception>
    /// <exception cref="ArgumentException">A group function without a number of groups, or an adjustment without sizes.</exception>
    public GroupDro(double eta = 0.01, double adjustment = 0, int? groups = null, Func<Tensor, Tensor, Tensor>? groupOf = null,
        IReadOnlyList<double>? groupSizes = null)
    {
        if (!(eta >= 0) || double.IsInfinity(eta)) throw new ArgumentOutOfRangeException(nameof(eta), eta, $"eta must be finite and ≥ 0, got {eta}");
        if (!(adjustment >= 0) || double.IsInfinity(adjustment))
            throw new ArgumentOutOfRangeException(nameof(adjustment), adjustment, $"the adjustment C must be finite and ≥ 0, got {adjustment}");
        this.groups = new BatchGroups(groups, groupOf, nameof(groups));
        if (adjustment != 0 && groupSizes is null)
            throw new ArgumentException("the group adjustment C/√n_g needs the training set's group sizes n_g", nameof(groupSizes));
        if (groupSizes is not null)
        {
            if (groups is { } g && groupSizes.Count != g)
                throw new ArgumentException($"{groupSizes.Count} group sizes for {g} groups", nameof(groupSizes));
            if (groupSizes.Any(n => !(n > 0) || double.IsInfinity(n))) throw new ArgumentOutOfRangeException(nameof(groupSizes), "group sizes must be finite and > 0");
        }
        Eta = eta;
        Adjustment = adjustment;
        this.groupSizes = groupSizes?.ToArray();
    }

    /// <inheritdoc />
    public override string Name => "groupdro";

    /// <summary>η_q.</summary>
    public double Eta { get; }

    /// <summary>C of the group adjustment C/√n_g.</summary>
    public double Adjustment { get; }

    /// <summary>A copy of q (float64), or null before the first batch.</summary>
    public Tensor? Weights => weights?.clone();

    /// <summary>Updates q on the batch, then λ·(Σ_g q_g·L_g − L); null at λ = 0 (q is not updated then).</summary>
    /// <exception cref="ArgumentOutOfRangeException">λ is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The targets are not class indices, or a group id is out of range.</exception>
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (!(strength is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, $"GroupDRO's λ mixes ERM and GroupDRO and must be in [0, 1], got {strength}");
        var (outputs, targets) = (context.Outputs, context.Targets);
        ClassTargets.Require(outputs, targets, "GroupDRO");
        if (strength == 0 || targets.shape[0] == 0) return null;
        var (ids, count) = groups.Of(context);
        var losses = nn.functional.cross_entropy(outputs, targets, reduction: nn.Reduction.None);
        var membership = nn.functional.one_hot(ids, count).to(losses.dtype);
        // A literal 0 would bind to sum(ScalarType): the dimension goes in an array.
        var sizes = membership.sum(new long[] { 0 });
        var groupLosses = membership.t().matmul(losses).div(sizes.clamp_min(HeldScalar.Of(1)));
        var q = Update(groupLosses.detach(), sizes.gt(HeldScalar.Of(0)), count);
        var robust = groupLosses.mul(q.to(losses.dtype)).sum();
        return robust.sub(losses.mean()).mul(HeldScalar.Of(strength));
    }

    /// <summary>
    /// q_g ← q_g·exp(η_q·(L_g + C/√n_g)) for the groups present, renormalized to their previous total; the others keep
    /// their weight. Returns the new q.
    /// </summary>
    private Tensor Update(Tensor groupLosses, Tensor present, int count)
    {
        using var _ = no_grad();
        if (weights is null) weights = full(count, HeldScalar.Of(1.0 / count), dtype: float64, device: groupLosses.device).DetachFromDisposeScope();
        else if (weights.shape[0] != count) throw new ArgumentException($"GroupDRO holds weights for {weights.shape[0]} groups, the batch has {count}");
        var adjusted = groupLosses.to(float64);
        if (Adjustment != 0) adjusted = adjusted.add(tensor(groupSizes!, dtype: float64, device: adjusted.device).rsqrt().mul(HeldScalar.Of(Adjustment)));
        // Shifting every exponent by the same amount cancels in the renormalization and keeps exp from overflowing.
        var exponent = adjusted.mul(HeldScalar.Of(Eta)).masked_fill(present.logical_not(), HeldScalar.Of(double.NegativeInfinity));
        var scaled = weights.mul(exponent.sub(exponent.max()).exp());
        var updated = scaled.mul(weights.mul(present.to(float64)).sum().div(scaled.sum()));
        weights.copy_(where(present, updated, weights));
        return weights.clone();
    }

    /// <summary>Acts on the outputs, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>q under the key <c>q</c>; empty before the first batch.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        weights is null ? new Dictionary<string, Tensor>() : new Dictionary<string, Tensor> { ["q"] = weights.clone() };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Keys.FirstOrDefault(k => k != "q") is { } unknown) throw new ArgumentException($"the checkpoint holds state '{unknown}', which GroupDRO does not keep");
        if (!state.TryGetValue("q", out var q))
        {
            weights?.Dispose();
            weights = null;
            return;
        }
        if (q.dim() != 1 || (groups.Count is { } g && q.shape[0] != g))
            throw new ArgumentException($"GroupDRO's checkpoint weights have shape [{string.Join(",", q.shape)}]{(groups.Count is { } n ? $", not [{n}]" : "")}");
        weights?.Dispose();
        using (no_grad()) weights = q.to(float64).detach().clone().DetachFromDisposeScope();
    }
}
