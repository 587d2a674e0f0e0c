using Topiary.Backend;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Mixout, from Lee, Cho, Kang, "Mixout: Effective Regularization to Finetune Large-scale Pretrained Language Models"
/// (ICLR 2020, seed paper #84): dropout toward the pretrained weights instead of toward zero. Every step each weight is
/// replaced by its pretrained value u with probability p (the strength), M ~ Bernoulli(p) elementwise, and the mix is
/// rescaled so that its expectation is the current weight:
/// w̃ = ((1 − M)⊙w + M⊙u − p·u)/(1 − p) = w + ((M − p)/(1 − p))⊙(u − w), E_M[w̃] = w.
/// The forward and backward pass run at w̃, and the gradient reaches w by the chain rule through that affine map:
/// ∂L/∂w = ((1 − M)/(1 − p))⊙∂L/∂w̃. In expectation this pulls w toward u with a strength that grows with p/(1 − p) and
/// adapts along the trajectory (the paper's Theorem); p = 0 is plain training, and u = 0 would be DropConnect.
/// <para>
/// u is the weights the regularizer first sees (the model a fine-tuning run starts from: with
/// <c>topiary prune --from SAVED_MODEL --reg mixout:p</c>, the saved model), kept per tensor and in checkpoints. It mixes
/// weights and convolution kernels (tensors of two or more dimensions), like the paper's mixed linear layers, and leaves
/// biases as they are. Pruned entries (the closure's masks, <see cref="ObjectiveClosure.MaskOf"/>) mix with 0 instead of
/// u, so they stay 0 in w̃. M is drawn per tensor, in the order of the closure's parameters and in the tensor's dtype,
/// from the regularizer's own CPU generator (seeded with <see cref="Seed"/>). The data loss it returns is the one at w̃.
/// The weights are restored bit-exactly after the pass; evaluation sees w. It replaces the backward pass, so it cannot be
/// combined with another term that does (SAM, AMP, F-GR, QAT, ELBo).
/// </para>
/// </summary>
public sealed class Mixout : GradientRegularizer
{
    // u is taken when the regularizer first sees a tensor; checkpoints keep it, or a resume would take the resumed weights.
    private readonly PerParameterTensors pretrained = new(".pretrained", p => p.shape);
    private Generator generator;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="seed">The seed of the generator of the masks M.</param>
    public Mixout(ulong seed = 0)
    {
        Seed = seed;
        generator = new Generator(seed);
    }

    /// <summary>The seed of the generator of the masks M.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public override string Name => "mixout";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <summary>Records <paramref name="weight"/>'s current values as its pretrained values u (done at its first step otherwise).</summary>
    public void Remember(Tensor weight)
    {
        using var _ = no_grad();
        pretrained.Set(weight, weight.detach().clone());
    }

    /// <summary>A copy of the pretrained values u of <paramref name="parameter"/>, or null before its first step.</summary>
    public Tensor? Pretrained(Tensor parameter) => pretrained.TryGet(parameter, out var u) ? u.detach().clone() : null;

    /// <summary>
    /// R = ½·(p/(1 − p))·‖w − u‖², half the total variance of the mixed weights w̃ (0 before the first step), for reports;
    /// mixout has no gradient of its own (it acts through the forward pass at w̃).
    /// </summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        if (!pretrained.TryGet(weight, out var u)) return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        return weight.sub(u).square().sum().mul(HeldScalar.Of(strength / (2 * (1 - strength))));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> (p) is outside [0, 1).</exception>
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (!(strength >= 0 && strength < 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "the mixout probability p must be in [0, 1)");
        var weights = objective.Parameters.Where(p => p.requires_grad && AppliesTo(p)).ToList();
        foreach (var w in weights)
            if (!pretrained.TryGet(w, out _)) Remember(w);
        if (strength == 0 || weights.Count == 0) return objective.Backward();
        using var scope = NewDisposeScope();
        var (shifts, gradientScales) = Draw(objective, weights, strength);
        Tensor loss;
        using (var perturbation = new ParameterPerturbation(weights))
        {
            perturbation.MoveTo(shifts);
            try
            {
                loss = objective.Backward();
            }
            finally
            {
                perturbation.Restore();
            }
        }
        using (no_grad())
        {
            for (var i = 0; i < weights.Count; i++)
                weights[i].grad?.mul_(gradientScales[i]);
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>u by parameter name and the generator's state.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = pretrained.Save(parameters);
        GeneratorState.Save(state, generator);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        var used = pretrained.LoadFrom(state, parameters);
        GeneratorState.Replace(ref generator, GeneratorState.Restore(state, Seed, ref used));
        PerParameterTensors.EnsureAllUsed(state, used);
    }

    // Per weight: the shift w̃ − w = ((M − p)/(1 − p))⊙(u − w) (0 at pruned entries) and ∂w̃/∂w = (1 − M)/(1 − p).
    private (List<Tensor> Shifts, List<Tensor> GradientScales) Draw(ObjectiveClosure objective, IReadOnlyList<Parameter> weights, double p)
    {
        using var _ = no_grad();
        var shifts = new List<Tensor>();
        var scales = new List<Tensor>();
        foreach (var w in weights)
        {
            pretrained.TryGet(w, out var u);
            var replaced = rand(w.shape, dtype: w.dtype, generator: generator).to(w.device).lt(HeldScalar.Of(p)).to_type(w.dtype);
            var distance = u.sub(w.detach());
            if (objective.MaskOf(w) is { } mask) distance = distance.mul(mask.to_type(w.dtype));
            shifts.Add(replaced.sub(HeldScalar.Of(p)).div(HeldScalar.Of(1 - p)).mul(distance));
            scales.Add(replaced.neg().add(HeldScalar.Of(1.0)).div(HeldScalar.Of(1 - p)));
        }
        return (shifts, scales);
    }
}
