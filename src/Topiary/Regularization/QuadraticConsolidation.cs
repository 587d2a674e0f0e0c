using Topiary.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Quadratic consolidation of the previous task's loss (AQC), after Yu et al., "On Sequential Loss Approximation for
/// Continual Learning" (seed paper #107): the previous task's loss L_old is replaced by its second-order Taylor expansion
/// at the weights θ* it ended with, R(θ) = ½(θ − θ*)ᵀH(θ − θ*) + g*ᵀ(θ − θ*), H = ∇²L_old(θ*) the full Hessian and
/// g* = ∇L_old(θ*), so that ∂R/∂θ = H(θ − θ*) + g*. As in the paper, θ is the classifier head only (the weight and bias of
/// the model's last linear layer, W̃ = [W | b] row by row), on a feature extractor that the expansion treats as frozen.
/// <para>
/// Adapted for fine-tuning: there is no stored previous task, so θ* is the head's weights at this regularizer's first step
/// (with <c>topiary prune --from SAVED_MODEL</c>, the saved model) and H, g* are those of <see cref="PreviousLoss"/> on the
/// first batch it sees, with the features h that batch gives then (eval mode, no gradient). Since the logits z = W̃[h; 1] are
/// linear in W̃, H = Σ_n (∂²L/∂z_n²) ⊗ [h_n; 1][h_n; 1]ᵀ exactly; ∂²L/∂z_n² is taken by autograd, which assumes L is a sum or
/// mean of per-example terms (cross-entropy is). H has (C·(d + 1))² entries, so heads of more than
/// <see cref="MaxHeadParameters"/> parameters are refused (the paper's heads are small too); the diagonal or empirical-Fisher
/// approximation a larger head would need is not implemented. Only the head's tensors get a gradient; <see cref="Penalty"/>
/// gives all of R on the head's weight (the bias read as a constant) and 0 elsewhere, so that the per-tensor sum is R.
/// θ*, H and g* are kept in checkpoints.
/// </para>
/// </summary>
public sealed class QuadraticConsolidation : GradientRegularizer
{
    /// <summary>The largest head, in parameters C·(d + 1), whose full Hessian is built (its (C·(d + 1))² entries).</summary>
    public const int MaxHeadParameters = 20_000;

    private Tensor? headWeight;
    private Tensor? headBias;
    private Tensor? anchor;
    private Tensor? hessian;
    private Tensor? anchorGradient;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="previousLoss">L_old(logits, targets), a batch mean or sum of per-example terms; cross-entropy when null.</param>
    public QuadraticConsolidation(Func<Tensor, Tensor, Tensor>? previousLoss = null) =>
        PreviousLoss = previousLoss ?? ((logits, targets) => nn.functional.cross_entropy(logits, targets));

    /// <summary>The previous task's loss L_old(logits, targets) that R expands.</summary>
    public Func<Tensor, Tensor, Tensor> PreviousLoss { get; }

    /// <inheritdoc />
    public override string Name => "aqc";

    /// <summary>A copy of θ* (the head [W | b] flattened row by row), or null before the first step.</summary>
    public Tensor? Anchor => anchor?.detach().clone();

    /// <summary>A copy of H, or null before the first step.</summary>
    public Tensor? Hessian => hessian?.detach().clone();

    /// <summary>A copy of g*, or null before the first step.</summary>
    public Tensor? AnchorGradient => anchorGradient?.detach().clone();

    /// <summary>At the first step: θ*, H and g* from the head of <paramref name="model"/> and this batch.</summary>
    /// <exception cref="InvalidOperationException">The last layer is not linear, or the head is larger than <see cref="MaxHeadParameters"/>.</exception>
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        if (anchor is not null) return;
        var head = ClassifierHead.Layer(model, Name);
        var weight = head.weight ?? throw new InvalidOperationException($"regularizer '{Name}': the last linear layer has no weight");
        RefuseLargeHead(weight, head.bias);
        using var scope = NewDisposeScope();
        Tensor features;
        var training = model.training;
        using (var recorder = new ActivationRecorder(model, includeFirst: true))
        using (no_grad())
        {
            model.eval();
            try
            {
                recorder.Start();
                model.call(inputs);
                features = recorder.Activations[^1].flatten(1).detach().clone();
            }
            finally
            {
                recorder.Stop();
                if (training) model.train();
            }
        }
        Remember(features, targets, weight, head.bias);
    }

    /// <summary>
    /// Records θ* = [<paramref name="weight"/> | <paramref name="bias"/>] and H, g* of <see cref="PreviousLoss"/> at θ* for the
    /// head that maps <paramref name="features"/> (B, d) to logits (done at the first step otherwise).
    /// </summary>
    /// <exception cref="InvalidOperationException">The head is larger than <see cref="MaxHeadParameters"/>.</exception>
    public void Remember(Tensor features, Tensor targets, Tensor weight, Tensor? bias)
    {
        RefuseLargeHead(weight, bias);
        using var scope = NewDisposeScope();
        var augmented = Augmented(features.detach(), bias is not null);
        var theta = Flatten(weight.detach(), bias?.detach());
        var logits = augmented.matmul(theta.view(weight.shape[0], -1).t()).detach().requires_grad_();
        Tensor firstOrder, secondOrder;
        using (enable_grad())
        {
            var loss = PreviousLoss(logits, targets);
            var logitGradient = autograd.grad([loss], [logits], retain_graph: true, create_graph: true)[0];
            // ∂²L/∂z_n,c∂z_n,c' per example, one backward pass per class (L sums per-example terms, so no cross-example terms).
            var rows = Enumerable.Range(0, (int)logits.shape[1])
                .Select(c => autograd.grad([logitGradient[.., c].sum()], [logits], retain_graph: true)[0])
                .ToArray();
            secondOrder = stack(rows, 1).detach();
            firstOrder = logitGradient.detach();
        }
        var n = theta.shape[0];
        var h = einsum("nab,nj,nk->ajbk", secondOrder, augmented, augmented).reshape(n, n);
        var g = firstOrder.t().matmul(augmented).flatten();
        Replace(weight, bias, theta.clone(), h, g);
    }

    /// <summary>∂(λR)/∂θ = λ(H(θ − θ*) + g*) on the head's weight or bias; nothing elsewhere or before the first step.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0 || anchor is null || headWeight is null) return;
        var isWeight = weight.Handle == headWeight.Handle;
        if (!isWeight && (headBias is null || weight.Handle != headBias.Handle)) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var full = hessian!.matmul(Current(headWeight.detach()).sub(anchor)).add(anchorGradient!)
            .view(headWeight.shape[0], -1).mul(HeldScalar.Of(strength));
        var d = headWeight.shape[1];
        grad.add_(isWeight ? full.narrow(1, 0, d) : full.select(1, d));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        if (anchor is null || headWeight is null || weight.Handle != headWeight.Handle)
            return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        var delta = Current(weight).sub(anchor);
        return hessian!.matmul(delta).mul(HeldScalar.Of(0.5)).add(anchorGradient!).dot(delta).mul(HeldScalar.Of(strength));
    }

    /// <summary>θ*, H and g* under the head weight's name, and a marker under the bias's.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        if (anchor is null || headWeight is null) return state;
        foreach (var (name, parameter) in parameters)
        {
            if (parameter.Handle == headWeight.Handle)
            {
                state[name + ".anchor"] = anchor.clone();
                state[name + ".hessian"] = hessian!.clone();
                state[name + ".gradient"] = anchorGradient!.clone();
            }
            else if (headBias is not null && parameter.Handle == headBias.Handle)
                state[name + ".head_bias"] = zeros(1);
        }
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        Forget();
        if (state.Count == 0) return;
        var weight = parameters.FirstOrDefault(p => state.ContainsKey(p.Name + ".anchor"));
        if (weight.Parameter is null || !state.TryGetValue(weight.Name + ".hessian", out var h) || !state.TryGetValue(weight.Name + ".gradient", out var g))
            throw new ArgumentException($"the checkpoint's state for regularizer '{Name}' lacks θ*, H or g* of a parameter this run has");
        var bias = parameters.FirstOrDefault(p => state.ContainsKey(p.Name + ".head_bias"));
        var expected = weight.Parameter.numel() + (bias.Parameter is null ? 0 : bias.Parameter.numel());
        var a = state[weight.Name + ".anchor"];
        if (a.shape.SequenceEqual([expected]) is false || h.shape.SequenceEqual([expected, expected]) is false || g.shape.SequenceEqual([expected]) is false)
            throw new ArgumentException($"regularizer '{Name}': the saved θ*, H, g* do not fit a head of {expected} parameters");
        PerParameterTensors.EnsureAllUsed(state, bias.Parameter is null ? 3 : 4);
        Replace(weight.Parameter, bias.Parameter, a.detach().clone(), h.detach().clone(), g.detach().clone());
    }

    private static Tensor Augmented(Tensor features, bool withBias) =>
        withBias ? cat([features, ones(features.shape[0], 1, dtype: features.dtype, device: features.device)], 1) : features;

    private static Tensor Flatten(Tensor weight, Tensor? bias) =>
        (bias is null ? weight : cat([weight, bias.unsqueeze(1)], 1)).flatten();

    // θ with the weight's graph (for Penalty) and the bias as a constant.
    private Tensor Current(Tensor weight) => Flatten(weight, headBias?.detach());

    private void RefuseLargeHead(Tensor weight, Tensor? bias)
    {
        var size = weight.numel() + (bias?.numel() ?? 0);
        if (weight.dim() != 2 || size > MaxHeadParameters)
            throw new InvalidOperationException($"regularizer '{Name}' builds the full Hessian of the classifier head, which has {size} parameters; at most {MaxHeadParameters} are supported");
    }

    private void Replace(Tensor weight, Tensor? bias, Tensor theta, Tensor h, Tensor g)
    {
        Forget();
        headWeight = weight;
        headBias = bias;
        anchor = theta.to_type(weight.dtype).DetachFromDisposeScope();
        hessian = h.to_type(weight.dtype).DetachFromDisposeScope();
        anchorGradient = g.to_type(weight.dtype).DetachFromDisposeScope();
    }

    private void Forget()
    {
        anchor?.Dispose();
        hessian?.Dispose();
        anchorGradient?.Dispose();
        anchor = hessian = anchorGradient = null;
        headWeight = headBias = null;
    }
}
