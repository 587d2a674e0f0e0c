using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// A forward-pass reparameterization w = φ_λ(v) of every weight matrix and kernel of a user's model, whose layers cannot be
/// rewritten (<see cref="WeightConditioning"/>, <see cref="WeightCompander"/>). The parameter holds w whenever the model runs
/// (forward pass, evaluation, saving, pruning); the trained latent v is kept here per tensor and in checkpoints.
/// <see cref="TransformGradients"/> puts v into the parameter and ∂L/∂v = (∂w/∂v)ᵀ·∂L/∂w into its gradient (by autograd on the
/// map alone), so the model's optimizer, with its momentum and weight decay, steps v; <see cref="Project"/> keeps the stepped v
/// and writes φ_λ(v) back. Penalties of other terms are added to ∂L/∂w before, so they act on w and reach v by the chain rule.
/// A tensor is taken over at its first <see cref="Project"/> (that step is plain) or earlier by <see cref="Condition"/>.
/// Before the first forward pass of a step (or, in a loop that runs its own forward pass, before the optimizer's step), values
/// written into a parameter from outside since the last step are taken over: new zeros (a pruning event) zero v, anything else
/// (a rewind, a loaded model) sets v = φ_λ⁻¹(w). The strength λ ∈ [0, 1] is
/// the share of the reparameterization, 0 being the plain layer; it has no penalty of its own.
/// </summary>
public abstract class WeightReparameterization : GradientRegularizer
{
    private readonly IWeightMap map;
    private readonly bool rescaleStep;
    private readonly PerParameterTensors latent = new(".latent", p => p.shape);
    private readonly HashSet<IntPtr> holdingLatent = new();
    private readonly HashSet<IntPtr> synced = new();
    private double share = 1;

    // With rescaleStep the optimizer steps on the raw ∂L/∂w and its step is multiplied by φ'(v) (elementwise maps only).
    private protected WeightReparameterization(IWeightMap map, bool rescaleStep = false)
    {
        this.map = map;
        this.rescaleStep = rescaleStep;
    }

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <summary>
    /// Takes <paramref name="weight"/> over now (rather than at its first step): v = φ_λ⁻¹(w), and φ_λ(v) is written back. Only
    /// for a tensor the training step regularizes (whose <see cref="Project"/> runs), or it would keep v after a step.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public void Condition(Tensor weight, double strength = 1)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CheckShare(strength);
        share = strength;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        latent.Set(weight, map.Inverse(weight.detach(), strength).clone().MoveToOuterDisposeScope());
        Write(weight);
    }

    /// <summary>A copy of the latent v of <paramref name="parameter"/>, or null before it is taken over.</summary>
    public Tensor? Latent(Tensor parameter) => latent.TryGet(parameter, out var v) ? v.detach().clone() : null;

    /// <summary>0: a reparameterization has no penalty, it acts through the weights the forward pass sees.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>Before the first forward pass of a step, takes over values written into the parameters from outside since the last step.</summary>
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        using var _ = no_grad();
        foreach (var p in model.parameters())
        {
            // Only the step's first pass: a perturbed pass (SAM) must not be taken for new weights.
            if (latent.TryGet(p, out var v) && !holdingLatent.Contains(p.Handle) && synced.Add(p.Handle)) TakeOverWrites(p, v);
        }
    }

    /// <summary>Puts v into every taken-over parameter and ∂L/∂v into its gradient (∂L/∂w as it is when the step is rescaled), for the optimizer's step.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength)
    {
        CheckShare(strength);
        share = strength;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            if (!latent.TryGet(p, out var v)) continue;
            using var scope = NewDisposeScope();
            // A loop that ran its own forward pass (PruningSession.BeforeStep) has not been through BeforeForward.
            if (synced.Add(p.Handle)) TakeOverWrites(p, v);
            if (!rescaleStep && p.grad is { } g) g.copy_(Pullback(v, g));
            p.copy_(v);
            holdingLatent.Add(p.Handle);
        }
    }

    /// <summary>After the optimizer's step: keeps the stepped v and writes φ_λ(v) into the parameter (on first sight, takes the tensor over).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        CheckShare(strength);
        share = strength;
        using var _ = no_grad();
        if (!latent.TryGet(weight, out var v))
        {
            Condition(weight, strength);
        }
        else if (holdingLatent.Remove(weight.Handle))
        {
            using var scope = NewDisposeScope();
            if (rescaleStep) v.add_(weight.sub(v).mul(Pullback(v, ones_like(v))));
            else v.copy_(weight);
            Write(weight);
        }
        synced.Remove(weight.Handle);
    }

    /// <summary>The latent v by parameter name.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) => latent.Save(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        holdingLatent.Clear();
        synced.Clear();
        PerParameterTensors.Load(state, parameters, latent);
    }

    private protected static void CheckShare(double strength)
    {
        if (!(strength >= 0 && strength <= 1))
            throw new ArgumentOutOfRangeException(nameof(strength), strength, "the share λ of the reparameterization must be in [0, 1]");
    }

    // New zeros (a pruning event) zero v; any other change (a rewind, a loaded model) sets v = φ⁻¹(w).
    private void TakeOverWrites(Tensor parameter, Tensor v)
    {
        using var scope = NewDisposeScope();
        var changed = parameter.ne(map.Forward(v, share));
        if (!changed.any().item<bool>()) return;
        if (parameter.eq(HeldScalar.Of(0)).logical_or(changed.logical_not()).all().item<bool>()) v.mul_(parameter.ne(HeldScalar.Of(0)).to_type(v.dtype));
        else v.copy_(map.Inverse(parameter.detach(), share));
        Write(parameter);
    }

    // (∂w/∂v)ᵀ·weightGradient at v.
    private Tensor Pullback(Tensor v, Tensor weightGradient)
    {
        using var enable = enable_grad();
        var leaf = v.detach().clone().requires_grad_();
        var pulled = map.Forward(leaf, share).mul(weightGradient.detach()).sum();
        return autograd.grad(new[] { pulled }, new[] { leaf })[0].detach();
    }

    private void Write(Tensor parameter)
    {
        using var scope = NewDisposeScope();
        latent.TryGet(parameter, out var v);
        parameter.copy_(map.Forward(v, share));
    }
}
