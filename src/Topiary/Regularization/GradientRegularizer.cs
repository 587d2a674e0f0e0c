using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The contract every Topiary regularizer follows. A regularizer may
/// (1) add ∂R/∂w to the loss gradient between backward and the optimizer step — one backward pass
/// suffices because the gradient of the loss is already known; and/or
/// (2) project the weights after the step (proximal operators, LOBSTER-style shrinkage);
/// (3) add a differentiable penalty to the loss that needs the model's activations or the batch
///     (<see cref="LossPenalty"/>, e.g. the FLOPs regularizer);
/// (4) transform the whole gradient after (1) (<see cref="TransformGradients"/>, e.g. norm clipping);
/// (5) take over the backward pass when it needs extra forward/backward passes at perturbed weights
///     (<see cref="ComputeGradients"/>, e.g. SAM, AMP, finite-difference gradient regularization).
/// It declares the tensors it acts on with <see cref="AppliesTo"/>.
/// Regularizers that keep state across steps save and restore it with <see cref="SaveState"/> and <see cref="LoadState"/>.
/// <see cref="Penalty"/> gives R itself, for reports and for checking (1) against autograd.
/// Every member except <see cref="Name"/> and <see cref="Penalty"/> has a no-op default, so a
/// regularizer overrides only what it does.
/// </summary>
public abstract class GradientRegularizer
{
    /// <summary>Name used on the command line and in reports.</summary>
    public abstract string Name { get; }

    /// <summary>Adds ∂R/∂w, scaled by <paramref name="strength"/>, to <paramref name="grad"/> in place.</summary>
    public virtual void AddGradient(Tensor weight, Tensor grad, double strength) { }

    /// <summary>Moves the weights after the optimizer step, in place (e.g. a proximal step of size <paramref name="stepSize"/>).</summary>
    public virtual void Project(Tensor weight, Tensor? grad, double strength, double stepSize) { }

    /// <summary>R(w) with the loss gradient <paramref name="grad"/> treated as a constant.</summary>
    public abstract Tensor Penalty(Tensor weight, Tensor grad, double strength);

    /// <summary>
    /// Whether the per-tensor members (<see cref="AddGradient"/>, <see cref="Project"/>, <see cref="Penalty"/>)
    /// act on <paramref name="parameter"/>. All tensors by default; structured penalties (orthogonality,
    /// spectral, group norms) take matrices and convolution kernels only.
    /// </summary>
    public virtual bool AppliesTo(Tensor parameter) => true;

    /// <summary>Whether <see cref="LossPenalty"/> needs <see cref="RegularizationContext.Activations"/> recorded.</summary>
    public virtual bool NeedsActivations => false;

    /// <summary>
    /// A differentiable penalty added to the data loss before the backward pass, or null (the default)
    /// when the regularizer works on gradients only. Use it when R depends on the batch, the activations or
    /// several tensors at once.
    /// </summary>
    public virtual Tensor? LossPenalty(RegularizationContext context, double strength) => null;

    /// <summary>
    /// Runs before every forward pass of a training step, with the model's weights as the step will evaluate them: where a
    /// penalty reads another forward pass it must not take after the step's own (one that moves the weights in place would
    /// invalidate the step's autograd graph), e.g. the teacher of <see cref="ProgressiveSelfDistillation"/>. Nothing by default.
    /// </summary>
    public virtual void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets) { }

    /// <summary>
    /// Runs when training epoch <paramref name="epoch"/> of <paramref name="epochs"/> begins (1-based), at every epoch boundary
    /// (so first for epoch 2), before that epoch's first step and with the weights the previous epoch ended with;
    /// <paramref name="epochs"/> is 0 when the caller does not know the length of its run. For regularizers that follow the
    /// epoch (a schedule, a snapshot of the model). Nothing by default.
    /// </summary>
    public virtual void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs) { }

    /// <summary>Changes the whole gradient after every <see cref="AddGradient"/> has run (e.g. clipping by the global norm).</summary>
    public virtual void TransformGradients(IReadOnlyList<Parameter> parameters, double strength) { }

    /// <summary>Whether <see cref="ComputeGradients"/> replaces the plain backward pass.</summary>
    public virtual bool ReplacesBackward => false;

    /// <summary>
    /// Whether R is a smooth penalty whose whole effect on a step is <see cref="AddGradient"/>: ∂R/∂w = AddGradient(w, g, 1) − g
    /// for the loss gradient g (held constant where R reads it), twice differentiable in w, with no <see cref="Project"/>,
    /// <see cref="LossPenalty"/>, <see cref="TransformGradients"/> or replaced backward pass. The implicit hypergradient
    /// of the strength tuners (<c>Topiary.Tuning.ImplicitHypergradient</c>) needs it; false by default, so a regularizer
    /// is refused by them until it states otherwise.
    /// </summary>
    public virtual bool IsSmoothPenalty => false;

    /// <summary>
    /// Leaves the gradient to use in the parameters' <c>.grad</c> and returns the data loss at the
    /// unperturbed weights. The default runs one plain backward pass; SAM-like methods evaluate the
    /// objective again at perturbed weights through <paramref name="objective"/> and must restore the
    /// weights exactly before returning.
    /// </summary>
    public virtual Tensor ComputeGradients(ObjectiveClosure objective, double strength) => objective.Backward();

    /// <summary>
    /// Copies of the state the regularizer keeps across steps (power-iteration vectors, initial weights, previous
    /// iterates), keyed by the names of <paramref name="parameters"/>, for checkpoints; empty for stateless ones.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        new Dictionary<string, Tensor>();

    /// <summary>
    /// Replaces the whole state with <paramref name="state"/> (what <see cref="SaveState"/> returned, possibly in another
    /// process), so that the next steps equal those of the run that saved it.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not belong to this regularizer or these parameters.</exception>
    public virtual void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Count > 0) throw new ArgumentException($"the checkpoint holds state for regularizer '{Name}', which keeps none");
    }
}
