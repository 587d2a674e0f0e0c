using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// The training half of a self-tuning network (MacKay, Vicol, Lorraine, Duvenaud, Grosse, ICLR 2019, seed paper #62,
/// Alg. 1 "train the approximate best response"), as the regularizer that <see cref="SelfTuningTuner.Wrap"/> returns
/// around the method's own regularizer R (<see cref="Inner"/>). Each step samples ψ̃ ~ N(ψ, σ²), moves the weights to
/// the best response Ŵ(ψ̃) = W_e + diag(v·(ψ̃ − ψ_c))·W_h, and takes the gradient G of L_train + λ̃·R there, with
/// λ̃ = exp(ψ̃ − ψ)·λ the step's strength λ = m·λ_t at the sampled hyperparameter. It then restores W_e bit-exactly and
/// leaves G as W_e's gradient (∂/∂W_e = G) for the model's optimizer, and steps W_h and v on
/// ∂/∂W_h = diag(v·(ψ̃ − ψ_c))·G and ∂/∂v_o = (ψ̃ − ψ_c)·Σ_j (G ⊙ W_h)_{o,j}.
/// </summary>
/// <remarks>
/// <para>R's gradient is added here, at λ̃ and at Ŵ(ψ̃) (so gradient-dependent regularizers such as the relevance gate see
/// the loss gradient of the perturbed weights), on the tensors of <see cref="SelfTuningTuner.Regularized"/> (or, when that
/// is null, every trainable tensor <see cref="Inner"/> applies to). So <see cref="AddGradient"/>, which the training step
/// calls afterwards, does nothing. A loss penalty of <see cref="Inner"/> (<see cref="LossPenalty"/>) is evaluated at λ̃ too.
/// <see cref="Project"/>, <see cref="TransformGradients"/>, <see cref="Penalty"/>, <see cref="AppliesTo"/>,
/// <see cref="NeedsActivations"/>, <see cref="BeforeForward"/>, <see cref="OnEpoch"/>, <see cref="SaveState"/> and <see cref="LoadState"/> are <see cref="Inner"/>'s at the
/// step's own strength λ: projections act on W_e, the weights the model keeps. The state of W_h, v and ψ is the tuner's
/// (<see cref="SelfTuningTuner.SaveState"/>), not this regularizer's.</para>
/// <para>Pruned entries: the masks come from the closure (<see cref="ObjectiveClosure.MaskOf"/>) at every step; W_h is
/// kept masked and Ŵ is masked, so a
/// pruned entry is exactly 0 in every forward pass, and G is masked before W_h and v see it.</para>
/// <para><see cref="ComputeGradients"/> returns the data loss at Ŵ(ψ̃), the only point evaluated (no extra pass at W_e):
/// a training loss that differs from the loss at W_e by the zero-mean perturbation.</para>
/// </remarks>
public sealed class SelfTuningStep : GradientRegularizer
{
    private readonly SelfTuningTuner tuner;
    // exp(ψ̃ − ψ) while ComputeGradients evaluates the objective at Ŵ(ψ̃); 1 otherwise.
    private double strengthFactor = 1;

    internal SelfTuningStep(SelfTuningTuner tuner, GradientRegularizer inner)
    {
        if (inner.ReplacesBackward)
            throw new ArgumentException($"the self-tuning network cannot wrap regularizer '{inner.Name}': it replaces the backward pass, and so does the self-tuning step (its gradient is taken at the perturbed best-response weights)", nameof(inner));
        this.tuner = tuner;
        Inner = inner;
    }

    /// <summary>The method's regularizer R that this step tunes the strength of.</summary>
    public GradientRegularizer Inner { get; }

    /// <summary>The inner regularizer's name: the method is the same, only its strength is tuned.</summary>
    public override string Name => Inner.Name;

    /// <summary>Always: the step evaluates the objective at the sampled best response Ŵ(ψ̃).</summary>
    public override bool ReplacesBackward => true;

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => Inner.AppliesTo(parameter);

    /// <inheritdoc />
    public override bool NeedsActivations => Inner.NeedsActivations;

    /// <summary>Nothing: <see cref="ComputeGradients"/> has already added ∂R/∂w at λ̃ and Ŵ(ψ̃).</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength) { }

    /// <summary><see cref="Inner"/>'s projection of W_e at the step's strength λ.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize) => Inner.Project(weight, grad, strength, stepSize);

    /// <summary><see cref="Inner"/>'s R(w) at strength λ.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => Inner.Penalty(weight, grad, strength);

    /// <summary><see cref="Inner"/>'s loss penalty at λ̃ = exp(ψ̃ − ψ)·λ inside a step (at λ outside one).</summary>
    public override Tensor? LossPenalty(RegularizationContext context, double strength) => Inner.LossPenalty(context, strength * strengthFactor);

    /// <inheritdoc />
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets) => Inner.BeforeForward(model, inputs, targets);

    /// <inheritdoc />
    public override void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs) => Inner.OnEpoch(model, epoch, epochs);

    /// <summary><see cref="Inner"/>'s whole-gradient transform at strength λ.</summary>
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength) => Inner.TransformGradients(parameters, strength);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) => Inner.SaveState(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        Inner.LoadState(parameters, state);

    /// <summary>
    /// One step of the training half: ψ̃ ~ N(ψ, σ²), the weights set to Ŵ(ψ̃), G = ∇(L_train + λ̃·R) there with
    /// λ̃ = exp(ψ̃ − ψ)·<paramref name="strength"/>, G masked and left as W_e's gradient, W_h and v stepped, W_e restored
    /// bit-exactly. Returns the data loss at Ŵ(ψ̃).
    /// </summary>
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        using var scope = NewDisposeScope();
        var weights = tuner.BestResponseFor(objective.Parameters, Inner);
        var sample = tuner.Sample();
        var offset = sample - tuner.LogMultiplier;   // ψ̃ − ψ_c with ψ_c = ψ
        var masks = weights.Targets.Select(objective.MaskOf).ToList();
        weights.Mask(masks);
        using var perturbation = new Backend.ParameterPerturbation(weights.Targets);
        try
        {
            perturbation.SetTo(weights.Targets.Select((_, i) => weights.Value(i, offset, masks[i])).ToList());
            strengthFactor = Math.Exp(offset);
            var loss = objective.Backward();
            using (no_grad())
            {
                foreach (var p in tuner.Regularized ?? objective.Parameters)
                    if (p.grad is { } g && Inner.AppliesTo(p)) Inner.AddGradient(p, g, strength * strengthFactor);
            }
            objective.MaskGradients();
            weights.Step(weights.Targets.Select(p => p.grad).ToList(), offset, masks);
            return loss.MoveToOuterDisposeScope();
        }
        finally
        {
            strengthFactor = 1;
            perturbation.Restore();
        }
    }
}
