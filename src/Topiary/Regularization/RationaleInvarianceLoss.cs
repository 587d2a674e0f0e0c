using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The rationale invariance loss of Chen, Zhang, Song, van den Hengel, Liu, "Domain Generalization via Rationale Invariance"
/// (ICCV 2023, seed paper #12, RIDG). The rationale of example i is the matrix of the element-wise contributions of its
/// penultimate features h_i ∈ ℝ^d to each logit, R_i = (W_cj·h_ij)_{c,j} ∈ ℝ^{C×d}, W the weight of the classifier's last
/// linear layer (its bias is no contribution of a feature). Each class k keeps a running mean rationale M_k, updated on
/// every batch that holds class k by M_k ← (1 − m)·M_k + m·mean_{y_i = k} R_i (set to the batch mean the first time the
/// class is seen), m = <see cref="Momentum"/>; then
/// R = λ·Σ_{k in the batch} (1/(n_k·C))·Σ_{y_i = k} ‖R_i − M_k‖²_F, with M_k held constant. As in the authors' code the
/// means are updated before the penalty reads them, and every evaluation of the penalty updates them (once per plain step,
/// once per pass under a regularizer that runs several, such as SAM). The means are checkpointed (<see cref="SaveState"/>).
/// </summary>
public sealed class RationaleInvarianceLoss : GradientRegularizer
{
    private Tensor? means;
    private Tensor? seen;

    /// <summary>Creates the loss.</summary>
    /// <param name="momentum">m ∈ (0, 1], the weight of the batch's mean rationale in the running mean (1: the batch mean alone).</param>
    /// <exception cref="ArgumentOutOfRangeException">m is outside (0, 1].</exception>
    public RationaleInvarianceLoss(double momentum = 0.1)
    {
        if (!(momentum > 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"the momentum must be in (0, 1], got {momentum}");
        Momentum = momentum;
    }

    /// <summary>m, the weight of a batch's mean rationale in a class's running mean.</summary>
    public double Momentum { get; }

    /// <summary>The running mean rationales M (classes, classes, d), or null before the first batch.</summary>
    public Tensor? Means => means;

    /// <inheritdoc />
    public override string Name => "ridg";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var features = PenultimateRepresentation.Of(context, Name);
        var weight = ClassifierHead.Weight(context.Model, Name);
        if (weight.shape[1] != features.shape[1])
            throw new InvalidOperationException($"regularizer '{Name}': the last linear layer reads {weight.shape[1]} features, the recorded representation has {features.shape[1]}");
        var labels = ClassTargets.Require(context.Targets, features.shape[0], Name);
        return Loss(features, labels, weight).mul(HeldScalar.Of(strength));
    }

    /// <summary>Updates the running means with the batch and returns Σ_k (1/(n_k·C))·Σ_{y_i = k} ‖R_i − M_k‖²_F, differentiable in h and W.</summary>
    /// <param name="features">h (B, d).</param>
    /// <param name="labels">Class indices (B) below the number of rows of <paramref name="weight"/>.</param>
    /// <param name="weight">W (C, d).</param>
    /// <exception cref="ArgumentException">A label is not a class of W.</exception>
    public Tensor Loss(Tensor features, Tensor labels, Tensor weight)
    {
        var classes = weight.shape[0];
        if (labels.numel() > 0 && (labels.min().item<long>() < 0 || labels.max().item<long>() >= classes))
            throw new ArgumentException($"regularizer '{Name}': class indices must lie in [0, {classes}) for a classifier with {classes} outputs");
        var rationales = features.unsqueeze(1).mul(weight.unsqueeze(0));
        Update(rationales.detach(), labels, classes);
        var membership = nn.functional.one_hot(labels.to(int64), classes).to(rationales.dtype);
        var counts = membership.sum(new long[] { 0 });
        var perExample = rationales.sub(means!.to(rationales.dtype).index_select(0, labels.to(int64))).square().sum([1, 2]);
        return perExample.div(counts.index_select(0, labels.to(int64))).sum().div(HeldScalar.Of(classes));
    }

    private void Update(Tensor rationales, Tensor labels, long classes)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var shape = new[] { classes, classes, rationales.shape[2] };
        if (means is null || !means.shape.SequenceEqual(shape))
        {
            means?.Dispose();
            seen?.Dispose();
            means = zeros(shape, dtype: float64, device: rationales.device).DetachFromDisposeScope();
            seen = zeros(classes, dtype: float64, device: rationales.device).DetachFromDisposeScope();
        }
        var membership = nn.functional.one_hot(labels.to(int64), classes).to(float64);
        var counts = membership.sum(new long[] { 0 });
        var batchMeans = membership.t().matmul(rationales.to(float64).flatten(1)).div(counts.clamp_min(HeldScalar.Of(1.0)).unsqueeze(1)).view(shape);
        var present = counts.gt(HeldScalar.Of(0.0)).to(float64);
        // Weight of the batch mean: m for a class seen before, 1 for a new one, 0 for one absent from the batch.
        var take = present.mul(seen!.mul(HeldScalar.Of(Momentum - 1)).add(HeldScalar.Of(1.0))).view(classes, 1, 1);
        means.mul_(take.neg().add(HeldScalar.Of(1.0))).add_(batchMeans.mul(take));
        seen.copy_(seen.maximum(present));
    }

    /// <summary>Acts on features, not on weights alone: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        means is null ? new Dictionary<string, Tensor>() : new Dictionary<string, Tensor> { ["means"] = means.clone(), ["seen"] = seen!.clone() };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Keys.FirstOrDefault(k => k is not ("means" or "seen")) is { } unknown)
            throw new ArgumentException($"the checkpoint holds state '{unknown}', which RIDG does not keep");
        means?.Dispose();
        seen?.Dispose();
        means = seen = null;
        if (state.Count == 0) return;
        if (!state.TryGetValue("means", out var m) || !state.TryGetValue("seen", out var s) || m.dim() != 3 || s.dim() != 1
            || m.shape[0] != m.shape[1] || s.shape[0] != m.shape[0])
            throw new ArgumentException("RIDG's checkpoint needs 'means' (C, C, d) and 'seen' (C)");
        using (no_grad())
        {
            means = m.to(float64).detach().clone().DetachFromDisposeScope();
            seen = s.to(float64).detach().clone().DetachFromDisposeScope();
        }
    }
}
