using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The contract every Topiary regularizer follows. A regularizer may
/// (1) add ∂R/∂w to the loss gradient between backward and the optimizer step — one backward pass
/// suffices because the gradient of the loss is already known; and/or
/// (2) project the weights after the step (proximal operators, LOBSTER-style shrinkage).
/// <see cref="Penalty"/> gives R itself, for reports and for checking (1) against autograd.
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
}
