using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The soft constraint against vanishing gradients of Pascanu, Mikolov, Bengio, "On the difficulty of training
/// Recurrent Neural Networks" (ICML 2013, seed paper #39, eq. 9): Ω = Σ_k (‖δ_{k+1}ᵀ·∂x_{k+1}/∂x_k‖ / ‖δ_{k+1}‖ − 1)²
/// with δ_{k+1} = ∂E/∂x_{k+1}, which asks each step back to keep the norm of the back-propagated error, and which the
/// paper differentiates holding δ_{k+1} constant. The paper's x_k are an RNN's hidden states over time; for Topiary's
/// feed-forward models the x_k are the inputs of the linear and convolution layers after the first (so ∂x_{k+1}/∂x_k
/// is one layer with what follows it up to the next such layer) and, last, the model's output. The norms are taken
/// per example and Ω averages over the batch: R = γ·Σ_k mean_i (‖δ_{k+1,i}ᵀJ_{k,i}‖ / ‖δ_{k+1,i}‖ − 1)², examples
/// with δ_{k+1,i} = 0 left out. This assumes layers that act on each example separately (no batch norm in training
/// mode). It costs one more backward pass for the δ's and one vector–Jacobian product per layer, twice-differentiated.
/// </summary>
public sealed class VanishingGradientRegularizer : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "vanishing";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var loss = context.DataLoss ?? throw new InvalidOperationException("the vanishing-gradient regularizer needs the data loss in its context");
        var states = context.Activations.Append(context.Outputs).ToList();
        if (states.Count < 2)
            throw new InvalidOperationException("the vanishing-gradient regularizer saw no hidden layer: the model needs a linear or convolution layer after the first, invoked through Module.call so that forward hooks run");
        // δ's are constants (Pascanu et al., Sec. 3.3): taken without a graph of their own.
        var deltas = autograd.grad(new[] { loss }, states, retain_graph: true, allow_unused: true);
        Tensor? total = null;
        for (var k = 0; k + 1 < states.Count; k++)
        {
            if (deltas[k + 1] is not { } delta || delta.IsInvalid) continue;
            var pulled = autograd.grad(new[] { states[k + 1] }, new[] { states[k] }, new[] { delta.detach() },
                retain_graph: true, create_graph: true, allow_unused: true)[0];
            if (pulled is null || pulled.IsInvalid) continue;
            var term = Term(pulled, delta.detach());
            total = total is null ? term : total.add(term);
        }
        return total?.mul(HeldScalar.Of(strength));
    }

    /// <summary>mean_i (‖v_i‖/‖δ_i‖ − 1)² over the examples with δ_i ≠ 0, for v = δᵀJ.</summary>
    public static Tensor Term(Tensor pulled, Tensor delta)
    {
        var deltaNorms = delta.flatten(1).norm(1);
        var alive = deltaNorms.gt(HeldScalar.Of(0));
        var ratios = pulled.flatten(1).norm(1).index(alive).div(deltaNorms.index(alive));
        return ratios.sub(HeldScalar.Of(1)).square().mean();
    }

    /// <summary>Acts through the loss, not on single weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
