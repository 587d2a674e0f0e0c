using Topiary.Backend;
using Topiary.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// The structured best-response approximation of a self-tuning network (MacKay, Vicol, Lorraine, Duvenaud, Grosse,
/// ICLR 2019, seed paper #62), written in weight space for one scalar hyperparameter ψ:
/// Ŵ(ψ) = W_e + diag(v·(ψ − ψ_c))·W_h for every weight tensor W of a <see cref="Targets"/> list (first dimension =
/// output units), the paper's structured best response Ŵ(λ) = W_elem + (Vλ) ⊙_row W_hyper ("hidden units gated by the
/// hyperparameters") for a scalar ψ: each output unit gets a second weight row W_h scaled by a linear function
/// v_o·(ψ − ψ_c) of the hyperparameter.
/// W_e is the model's own parameter; W_h (shape of W) and v (one entry per output unit) live here, with their own Adam.
/// </summary>
/// <remarks>
/// Start: W_h = 0 and v = 1, so Ŵ = W_e and the model trains as without the tuner at first; v ≠ 0 is needed because
/// the product v·W_h has no gradient in either factor when both are 0 (∂W_h ∝ v, ∂v ∝ W_h), while W_h = 0 gives the
/// zero slope that makes the start exact. Pruned entries: W_h is multiplied by the mask before Ŵ is formed and after
/// each of its steps (and Adam's moments there are cleared), and Ŵ itself is masked, so a pruned entry of Ŵ is exactly 0.
/// </remarks>
internal sealed class BestResponseWeights : IDisposable
{
    private readonly List<Parameter> hidden;
    private readonly List<Parameter> gates;
    private readonly AdamOptimizer? optimizer;

    /// <summary>W_h = 0 and v = 1 for each of <paramref name="targets"/>, in their dtype and device, with Adam at <paramref name="learningRate"/>.</summary>
    public BestResponseWeights(IReadOnlyList<Parameter> targets, double learningRate)
    {
        Targets = targets;
        using var _ = no_grad();
        hidden = targets.Select(w => new Parameter(zeros_like(w).DetachFromDisposeScope())).ToList();
        gates = targets.Select(w => new Parameter(ones(w.shape[0], dtype: w.dtype, device: w.device).DetachFromDisposeScope())).ToList();
        optimizer = targets.Count == 0 ? null : new AdamOptimizer(hidden.Concat(gates), learningRate);
    }

    /// <summary>The model's weight tensors W_e that get a best response, in order.</summary>
    public IReadOnlyList<Parameter> Targets { get; }

    /// <summary>W_h per target (its <c>.grad</c> holds the last step's gradient).</summary>
    public IReadOnlyList<Parameter> Hidden => hidden;

    /// <summary>v per target, one entry per output unit (its <c>.grad</c> holds the last step's gradient).</summary>
    public IReadOnlyList<Parameter> Gates => gates;

    /// <summary>dŴ/dψ = diag(v)·W_h of target <paramref name="index"/>: the slope of the best response.</summary>
    public Tensor Slope(int index) => hidden[index].detach().mul(Rows(gates[index].detach(), hidden[index]));

    /// <summary>Ŵ = mask ⊙ (W_e + <paramref name="offset"/>·diag(v)·W_h) of target <paramref name="index"/>, for offset = ψ − ψ_c.</summary>
    public Tensor Value(int index, double offset, Tensor? mask)
    {
        using var _ = no_grad();
        var value = Targets[index].detach().add(Slope(index), alpha: HeldScalar.Of(offset));
        return mask is null ? value : value.mul_(mask);
    }

    /// <summary>Keeps W_h (and Adam's moments of it) at 0 where <paramref name="masks"/> are 0; null entries are unpruned.</summary>
    public void Mask(IReadOnlyList<Tensor?> masks)
    {
        using var _ = no_grad();
        for (var i = 0; i < hidden.Count; i++)
        {
            if (masks[i] is not { } mask) continue;
            hidden[i].mul_(mask);
            optimizer!.MaskState(hidden[i], mask);
        }
    }

    /// <summary>
    /// The chain rule through Ŵ for the total gradient G = ∂f/∂Ŵ at offset = ψ̃ − ψ_c:
    /// ∂f/∂W_h = diag(v·offset)·G and ∂f/∂v_o = offset·Σ_j (G ⊙ W_h)_{o,j} (the row sums over every other dimension).
    /// </summary>
    public (Tensor Hidden, Tensor Gate) Gradients(int index, Tensor gradient, double offset)
    {
        using var _ = no_grad();
        var w = hidden[index].detach();
        var g = gradient.detach();
        var dHidden = g.mul(Rows(gates[index].detach(), w)).mul_(HeldScalar.Of(offset));
        var dGate = g.mul(w).reshape(w.shape[0], -1).sum(1).mul_(HeldScalar.Of(offset));
        return (dHidden, dGate);
    }

    /// <summary>
    /// One Adam step on W_h and v from the total gradients <paramref name="gradients"/> of the targets (null: none), at
    /// offset = ψ̃ − ψ_c; then W_h is masked again.
    /// </summary>
    public void Step(IReadOnlyList<Tensor?> gradients, double offset, IReadOnlyList<Tensor?> masks)
    {
        if (optimizer is null) return;
        using var scope = NewDisposeScope();
        for (var i = 0; i < hidden.Count; i++)
        {
            var (dHidden, dGate) = gradients[i] is { } g ? Gradients(i, g, offset) : (zeros_like(hidden[i]), zeros_like(gates[i]));
            SetGradient(hidden[i], dHidden);
            SetGradient(gates[i], dGate);
        }
        optimizer.Step();
        Mask(masks);
    }

    /// <summary>dF/dψ = Σ_tensors Σ_o v_o·Σ_j (G_v ⊙ W_h)_{o,j} = Σ ⟨G_v, dŴ/dψ⟩ for the gradients <paramref name="gradients"/> of F at Ŵ.</summary>
    public double Hypergradient(IReadOnlyList<Tensor?> gradients)
    {
        using var scope = NewDisposeScope();
        var total = 0.0;
        for (var i = 0; i < hidden.Count; i++)
            if (gradients[i] is { } g) total += g.detach().mul(Slope(i)).sum().to(float64).item<double>();
        return total;
    }

    /// <summary>Copies of W_h, v and Adam's state, keyed <c>{prefix}{i}.hidden</c>, <c>{prefix}{i}.gate</c>, <c>{prefix}adam.step</c>, <c>{prefix}adam.{buffer}</c>.</summary>
    public void SaveInto(Dictionary<string, Tensor> state, string prefix)
    {
        for (var i = 0; i < hidden.Count; i++)
        {
            state[$"{prefix}{i}.hidden"] = hidden[i].detach().clone();
            state[$"{prefix}{i}.gate"] = gates[i].detach().clone();
        }
        if (optimizer is null) return;
        state[$"{prefix}adam.step"] = tensor(optimizer.StepCount, int64);
        foreach (var (name, buffer) in optimizer.StateBuffers()) state[$"{prefix}adam.{name}"] = buffer.detach().clone();
    }

    /// <summary>Replaces W_h, v and Adam's state with copies from <paramref name="state"/> (keys as <see cref="SaveInto"/>, shapes checked by tensor index).</summary>
    /// <exception cref="ArgumentException">A tensor is missing, unknown or of the wrong shape.</exception>
    public void LoadFrom(IReadOnlyDictionary<string, Tensor> state, string prefix)
    {
        var expected = new HashSet<string>();
        using (no_grad())
        {
            for (var i = 0; i < hidden.Count; i++)
            {
                foreach (var (name, target) in new[] { ($"{prefix}{i}.hidden", (Tensor)hidden[i]), ($"{prefix}{i}.gate", gates[i]) })
                {
                    expected.Add(name);
                    if (!state.TryGetValue(name, out var source)) throw new ArgumentException($"self-tuning state '{name}' is missing");
                    if (!source.shape.SequenceEqual(target.shape))
                        throw new ArgumentException($"self-tuning state '{name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", target.shape)}]");
                    target.copy_(source);
                }
            }
        }
        var adam = state.Where(p => p.Key.StartsWith($"{prefix}adam.")).ToDictionary(p => p.Key[$"{prefix}adam.".Length..], p => p.Value);
        if (state.Keys.FirstOrDefault(k => !expected.Contains(k) && !k.StartsWith($"{prefix}adam.")) is { } unknown)
            throw new ArgumentException($"the checkpoint holds self-tuning state '{unknown}' for no best-response tensor (this model has {hidden.Count})");
        if (optimizer is null || !adam.Remove("step", out var step)) return;
        optimizer.LoadState(step.to(int64).item<long>(), adam);
    }

    // v shaped [O, 1, …, 1] to scale the rows of a tensor like w.
    private static Tensor Rows(Tensor gate, Tensor w) => gate.reshape([w.shape[0], .. Enumerable.Repeat(1L, (int)w.dim() - 1)]);

    private static void SetGradient(Parameter parameter, Tensor gradient)
    {
        if (parameter.grad is { } g) g.copy_(gradient);
        else parameter.grad = gradient.detach().clone().DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer?.Dispose();
        foreach (var t in hidden.Concat(gates)) t.Dispose();
    }
}
