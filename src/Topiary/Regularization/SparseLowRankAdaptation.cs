using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// SaRA, from Hu, Zhang, Yi, Huang, Wang, Ma, "SaRA: High-Efficient Diffusion Model Fine-tuning with Progressive Sparse
/// Low-Rank Adaptation" (2024, seed paper #76): fine-tune only the pretrained weights of smallest magnitude, which the
/// paper finds ineffective (the smallest 10% to 20% by absolute value), keep the others frozen, and keep the sparse update
/// ΔW = W − U low-rank with a nuclear-norm penalty, R = γ·Σ_matrices ‖W − U‖_* (U the pretrained weights).
/// <para>
/// Per tensor, the trainable set is the ⌊F·n + ½⌋ entries of smallest |U| among its n non-zero pretrained entries
/// (F = <see cref="Fraction"/>; zeros are pruned weights, which stay out); ties go to the earlier entry. The other entries
/// are frozen: <see cref="GradientRegularizer.TransformGradients"/> zeros their gradients after every
/// <see cref="AddGradient"/> (so no other term moves them either), and <see cref="Project"/> sets them back to their
/// pinned values after the optimizer's step, bit-exactly, which undoes what momentum and decoupled weight decay would do.
/// The nuclear term adds γ·PQᵀ to the gradient, PΣQᵀ the thin SVD of ΔW (a kernel as out × in·k·k) with the singular
/// values above max(m, n)·ε·σ₁ kept: the subgradient of minimal norm (0 at ΔW = 0), restricted to the trainable
/// entries by the masking. A subgradient rather than singular-value thresholding: the proximal step of the nuclear norm
/// returns a dense low-rank matrix, which would move the frozen entries, and the proximal step of nuclear norm plus
/// sparsity pattern has no closed form; the subgradient also is what autograd of the paper's loss term gives.
/// </para>
/// <para>
/// Progressive re-selection (<see cref="ReselectAt"/> = K &gt; 0): at the K-th step the trainable set is chosen again, as the
/// F share of smallest |W| of the current weights, and every entry now frozen is pinned at its current value (so what the
/// first stage learned is kept); U for ΔW stays the pretrained weights. The paper re-selects the parameters still below
/// its threshold partway through; the regularizer does not know the run's length, so K is given (half the steps of the
/// fine-tuning run follows the paper), and 0 (the default) never re-selects.
/// </para>
/// <para>
/// U, the pinned values and the trainable set are taken the first time <see cref="AddGradient"/> sees a tensor (the
/// first step: with <c>topiary prune --from SAVED_MODEL --reg sara:γ</c>, the saved model) and kept in checkpoints with
/// the step count. It acts on the tensors the training loop regularizes (<c>topiary prune</c>: those of <c>--scope</c>, by
/// default weights and biases), the nuclear term on tensors of two or more dimensions only; tensors it does not see
/// train as usual. Magnitude pruning removes the smallest weights, the very ones SaRA trains: combined with a pruning
/// method, the crops take the trainable entries first.
/// </para>
/// </summary>
public sealed class SparseLowRankAdaptation : GradientRegularizer
{
    private const string StepsKey = "#steps";

    private readonly PerParameterTensors pretrained = new(".pretrained", p => p.shape);
    private readonly PerParameterTensors pinned = new(".pinned", p => p.shape);
    private readonly PerParameterTensors trainable = new(".trainable", p => p.shape);
    private long steps;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="fraction">F, the share of each tensor's non-zero entries that is trained.</param>
    /// <param name="reselectAt">The step at which the trainable set is chosen again from the current weights; 0: never.</param>
    /// <exception cref="ArgumentOutOfRangeException">F is outside (0, 1], or the step is negative.</exception>
    public SparseLowRankAdaptation(double fraction = 0.1, long reselectAt = 0)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"fraction must be in (0, 1], got {fraction}");
        if (reselectAt < 0) throw new ArgumentOutOfRangeException(nameof(reselectAt), reselectAt, $"reselect must be a step ≥ 0, got {reselectAt}");
        Fraction = fraction;
        ReselectAt = reselectAt;
    }

    /// <summary>F, the share of each tensor's non-zero entries that is trained.</summary>
    public double Fraction { get; }

    /// <summary>The step (counted from 1) at which the trainable set is chosen again from the current weights; 0: never.</summary>
    public long ReselectAt { get; }

    /// <summary>The number of steps run so far.</summary>
    public long Steps => steps;

    /// <inheritdoc />
    public override string Name => "sara";

    /// <summary>
    /// Takes <paramref name="weight"/>'s current values as its pretrained values U and pinned values, and selects its
    /// trainable entries from them (done at its first step otherwise).
    /// </summary>
    public void Remember(Tensor weight)
    {
        using var _ = no_grad();
        var values = weight.detach();
        pretrained.Set(weight, values.clone());
        pinned.Set(weight, values.clone());
        trainable.Set(weight, SmallestEntries(values, Fraction));
    }

    /// <summary>A copy of the 0/1 trainable set of <paramref name="parameter"/> (true = trained), or null before its first step.</summary>
    public Tensor? TrainableEntries(Tensor parameter) => trainable.TryGet(parameter, out var m) ? m.clone() : null;

    /// <summary>The boolean mask of the ⌊F·n + ½⌋ entries of smallest |values| among the n non-zero ones (ties to the earlier entry).</summary>
    public static Tensor SmallestEntries(Tensor values, double fraction)
    {
        using var scope = NewDisposeScope();
        var magnitudes = values.detach().abs().flatten();
        var live = magnitudes.ne(HeldScalar.Of(0.0));
        var count = (long)Math.Floor(fraction * live.sum().item<long>() + 0.5);
        var order = where(live, magnitudes, full_like(magnitudes, HeldScalar.Of(double.PositiveInfinity))).sort(stable: true).Indices;
        var chosen = zeros(magnitudes.shape, dtype: ScalarType.Bool, device: values.device);
        if (count > 0) chosen.index_fill_(0, order.narrow(0, 0, count), HeldScalar.Of(true));
        return chosen.reshape(values.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Adds γ·PQᵀ, the nuclear norm's subgradient at ΔW = W − U (0 for tensors of fewer than two dimensions).</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (!pretrained.TryGet(weight, out var u))
        {
            Remember(weight);
            pretrained.TryGet(weight, out u);
        }
        if (strength == 0 || !WeightMatrix.IsMatrixLike(weight)) return;
        using var scope = NewDisposeScope();
        var update = WeightMatrix.Rows(weight.detach().sub(u));
        var (left, singular, right) = linalg.svd(update, fullMatrices: false);
        var tolerance = Math.Max(update.shape[0], update.shape[1]) * Epsilon(update.dtype) * singular.max().to(ScalarType.Float64).item<double>();
        var kept = singular.gt(HeldScalar.Of(tolerance)).to_type(update.dtype);
        var subgradient = left.mul(kept.unsqueeze(0)).matmul(right);
        grad.add_(subgradient.reshape(weight.shape), alpha: HeldScalar.Of(strength));
    }

    /// <summary>Zeros the gradients of the frozen entries; at step <see cref="ReselectAt"/>, first chooses the trainable set again.</summary>
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength)
    {
        steps++;
        foreach (var p in parameters)
        {
            if (!trainable.TryGet(p, out var mask)) continue;
            if (steps == ReselectAt)
            {
                var values = p.detach();
                pinned.Set(p, values.clone());
                trainable.Set(p, SmallestEntries(values, Fraction));
                trainable.TryGet(p, out mask);
            }
            p.grad?.mul_(mask);
        }
    }

    /// <summary>Sets the frozen entries back to their pinned values, bit-exactly.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (!trainable.TryGet(weight, out var mask)) return;
        pinned.TryGet(weight, out var values);
        using var scope = NewDisposeScope();
        weight.copy_(where(mask, weight, values));
    }

    /// <summary>γ·‖W − U‖_* for a tensor of two or more dimensions (a kernel as out × in·k·k); 0 otherwise and before the first step.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        if (!WeightMatrix.IsMatrixLike(weight) || !pretrained.TryGet(weight, out var u))
            return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        return linalg.svdvals(WeightMatrix.Rows(weight.sub(u))).sum().mul(HeldScalar.Of(strength));
    }

    /// <summary>U, the pinned values and the trainable set by parameter name, and the step count.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = pretrained.Save(parameters);
        pinned.SaveInto(state, parameters);
        trainable.SaveInto(state, parameters);
        state[StepsKey] = tensor(new[] { steps }, dtype: ScalarType.Int64);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        var used = pretrained.LoadFrom(state, parameters) + pinned.LoadFrom(state, parameters) + trainable.LoadFrom(state, parameters);
        steps = 0;
        if (state.TryGetValue(StepsKey, out var count))
        {
            steps = count.to_type(ScalarType.Int64).item<long>();
            used++;
        }
        PerParameterTensors.EnsureAllUsed(state, used);
    }

    private static double Epsilon(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => Math.BitIncrement(1.0) - 1.0,
        ScalarType.Float16 => 9.765625e-4,
        ScalarType.BFloat16 => 7.8125e-3,
        _ => MathF.BitIncrement(1f) - 1f,
    };
}
