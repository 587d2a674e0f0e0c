using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Weight conditioning, from Saratchandran, Wang, Lucey, "Weight Conditioning for Smooth Optimization of Neural Networks"
/// (ECCV 2024, seed paper #114): each weight matrix W (a kernel seen as out × in·k·k) stays the trained parameter, and the
/// layer computes with the better-conditioned W' = D·W, D = diag(1/‖W_i:‖₂), the row equilibration that is optimal among
/// diagonal (left) preconditioners up to a factor √m by Van der Sluis' theorem, so σ_max(W')/σ_min(W') narrows while W
/// trains freely. <see cref="Equilibration.Columns"/> (W' = W·diag(1/‖W_:j‖₂)) and <see cref="Equilibration.RowsThenColumns"/>
/// are the other forms. The strength λ ∈ [0, 1] blends: W' = (1 − λ)·W + λ·cond(W); 1 (the default) is the paper's layer,
/// 0 the plain one. The gradient reaches W by the chain rule through W' (by autograd on the small map W ↦ W').
/// <para>
/// Our adaptation to a user's model, whose layers cannot be rewritten: the parameter holds W' whenever the model is run
/// (forward pass, evaluation, saving, pruning), and the regularizer keeps W, the latent weight, per tensor and in checkpoints.
/// After the backward pass <see cref="TransformGradients"/> puts W into the parameter and ∂L/∂W into its gradient, so the
/// model's optimizer (with its momentum and weight decay) steps W as the paper's optimizer does; <see cref="Project"/> then
/// keeps the new W and writes W' back. A tensor is taken over at its first <see cref="Project"/> (so the first step is a plain
/// one) or earlier by <see cref="Condition(Tensor, double)"/>. D and E are diagonal, so pruned zeros stay zero in W and W';
/// a zero row or column is left as it is (its scale is taken as 1). Values written into the parameter from outside between
/// steps (a pruning event, a rewind, a loaded model) are taken over as the new W before the next forward pass. Where the
/// text of the paper could not be read here, the equilibration form follows a secondary account of it (see docs/regularizers.md).
/// </para>
/// </summary>
public sealed class WeightConditioning : GradientRegularizer
{
    private readonly PerParameterTensors latent = new(".latent", p => p.shape);
    private readonly HashSet<IntPtr> holdingLatent = new();
    private readonly HashSet<IntPtr> synced = new();
    private double share = 1;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="mode">Which diagonal scaling conditions the weights.</param>
    public WeightConditioning(Equilibration mode = Equilibration.Rows)
    {
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown equilibration");
        Mode = mode;
    }

    /// <summary>Which diagonal scaling conditions the weights.</summary>
    public Equilibration Mode { get; }

    /// <inheritdoc />
    public override string Name => "wcond";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <summary>
    /// W' = (1 − <paramref name="strength"/>)·W + strength·cond(W) for <paramref name="weight"/> W, differentiable in W (zero rows
    /// or columns are scaled by 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public static Tensor Conditioned(Tensor weight, Equilibration mode, double strength)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CheckStrength(strength);
        if (strength == 0) return weight.alias();
        var matrix = WeightMatrix.Rows(weight);
        var scaled = mode switch
        {
            Equilibration.Rows => ScaleToUnitNorm(matrix, 1),
            Equilibration.Columns => ScaleToUnitNorm(matrix, 0),
            Equilibration.RowsThenColumns => ScaleToUnitNorm(ScaleToUnitNorm(matrix, 1), 0),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown equilibration"),
        };
        if (strength < 1) scaled = matrix.mul(HeldScalar.Of(1 - strength)).add(scaled.mul(HeldScalar.Of(strength)));
        return scaled.reshape(weight.shape);
    }

    /// <summary>
    /// Takes <paramref name="weight"/> over now (rather than at its first step): keeps its values as the latent W and writes
    /// W' into it. Only for a tensor the training step regularizes (whose <see cref="Project"/> runs), or it would keep W after a step.
    /// </summary>
    public void Condition(Tensor weight, double strength = 1)
    {
        CheckStrength(strength);
        share = strength;
        using var _ = no_grad();
        latent.Set(weight, weight.detach().clone());
        WriteConditioned(weight);
    }

    /// <summary>A copy of the latent W of <paramref name="parameter"/>, or null before it is taken over.</summary>
    public Tensor? Latent(Tensor parameter) => latent.TryGet(parameter, out var w) ? w.detach().clone() : null;

    /// <summary>0: weight conditioning has no penalty, it acts through the weights the forward pass sees.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>Before the first forward pass of a step, takes over values written into the parameters from outside since the last step.</summary>
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        using var _ = no_grad();
        foreach (var p in model.parameters())
        {
            // Only the step's first pass: a perturbed pass (SAM) must not be taken for a new W.
            if (!latent.TryGet(p, out var w) || holdingLatent.Contains(p.Handle) || !synced.Add(p.Handle)) continue;
            using var scope = NewDisposeScope();
            var expected = Conditioned(w, Mode, share);
            var changed = p.ne(expected);
            if (!changed.any().item<bool>()) continue;
            // Only new zeros (pruning): W keeps its scale; anything else (a rewind, a load) replaces W.
            if (p.eq(0).logical_or(changed.logical_not()).all().item<bool>()) w.mul_(p.ne(0).to_type(w.dtype));
            else w.copy_(p);
            WriteConditioned(p);
        }
    }

    /// <summary>Puts the latent W into every taken-over parameter and ∂L/∂W = (∂W'/∂W)ᵀ·∂L/∂W' into its gradient, for the optimizer's step.</summary>
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength)
    {
        CheckStrength(strength);
        share = strength;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            if (!latent.TryGet(p, out var w)) continue;
            using var scope = NewDisposeScope();
            if (p.grad is { } g) g.copy_(LatentGradient(w, g));
            p.copy_(w);
            holdingLatent.Add(p.Handle);
        }
    }

    /// <summary>After the optimizer's step: keeps the stepped W and writes W' into the parameter (on first sight, takes the tensor over).</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        CheckStrength(strength);
        share = strength;
        using var _ = no_grad();
        if (!latent.TryGet(weight, out var w))
        {
            Condition(weight, strength);
        }
        else if (holdingLatent.Remove(weight.Handle))
        {
            w.copy_(weight);
            WriteConditioned(weight);
        }
        synced.Remove(weight.Handle);
    }

    /// <summary>The latent W by parameter name.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        latent.Save(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        holdingLatent.Clear();
        synced.Clear();
        PerParameterTensors.Load(state, parameters, latent);
    }

    private void WriteConditioned(Tensor parameter)
    {
        using var scope = NewDisposeScope();
        latent.TryGet(parameter, out var w);
        parameter.copy_(Conditioned(w, Mode, share));
    }

    private Tensor LatentGradient(Tensor w, Tensor conditionedGradient)
    {
        using var enable = enable_grad();
        var leaf = w.detach().clone().requires_grad_();
        var pulled = Conditioned(leaf, Mode, share).mul(conditionedGradient.detach()).sum();
        return autograd.grad(new[] { pulled }, new[] { leaf })[0].detach();
    }

    // Divides each slice along `dim` (1: rows, 0: columns) by its Euclidean norm; a zero slice keeps scale 1, where the
    // square root's unbounded derivative would otherwise reach the gradient.
    private static Tensor ScaleToUnitNorm(Tensor matrix, long dim)
    {
        var squares = matrix.square().sum(dim, keepdim: true);
        var safe = where(squares.gt(HeldScalar.Of(0.0)), squares, ones_like(squares));
        return matrix.div(safe.sqrt());
    }

    private static void CheckStrength(double strength)
    {
        if (!(strength >= 0 && strength <= 1))
            throw new ArgumentOutOfRangeException(nameof(strength), strength, "the share of conditioning λ must be in [0, 1]");
    }
}
