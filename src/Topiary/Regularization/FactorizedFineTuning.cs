using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Trains the factors θ of a reparameterized weight W = merge(frozen, θ) (<see cref="IWeightFactorization"/>) inside the
/// <see cref="GradientRegularizer"/> contract, for the fine-tuning regularizers (SORSA, qGOFT). The weights the first
/// <see cref="Remember"/> sees are the pretrained ones. Each <see cref="Step"/> takes the gradient the training loop
/// left in W's <c>.grad</c> after the model's optimizer stepped (the loss gradient plus the other terms' gradients, clipped
/// and masked: pruned entries carry none), carries it to θ by the chain rule (autograd of ⟨G, merge(frozen, θ)⟩ + γ·orth(θ),
/// one small backward pass over the merge alone), steps θ with its own Adam, and writes merge(frozen, θ) back into W,
/// which replaces whatever the model's optimizer did to W; the loop then zeroes the pruned entries again.
/// The store owns its tensors; checkpoints keep the frozen matrix, θ, Adam's moments and step count per weight.
/// </summary>
internal sealed class FactorizedFineTuning
{
    private const double Beta1 = 0.9, Beta2 = 0.999, AdamEpsilon = 1e-8;

    private readonly IWeightFactorization factorization;
    private readonly PerParameterTensors frozen;
    private readonly PerParameterTensors factors;
    private readonly PerParameterTensors firstMoment;
    private readonly PerParameterTensors secondMoment;
    private readonly PerParameterTensors steps;

    /// <param name="factorization">The reparameterization.</param>
    /// <param name="learningRate">Adam's learning rate for θ.</param>
    /// <param name="prefix">Distinguishes the checkpoint keys of this regularizer's stores.</param>
    public FactorizedFineTuning(IWeightFactorization factorization, double learningRate, string prefix)
    {
        this.factorization = factorization;
        LearningRate = learningRate;
        frozen = new($".{prefix}-frozen", p => [p.shape[0], Columns(p)]);
        factors = new($".{prefix}-factors", p => [Count(p)]);
        firstMoment = new($".{prefix}-adam-m", p => [Count(p)]);
        secondMoment = new($".{prefix}-adam-v", p => [Count(p)]);
        steps = new($".{prefix}-steps", _ => [1]);
    }

    public double LearningRate { get; }

    /// <summary>Takes <paramref name="weight"/>'s current values as the pretrained W₀ the first time it is seen.</summary>
    public void Remember(Tensor weight)
    {
        if (factors.TryGet(weight, out _)) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (fixedPart, theta) = factorization.Initialize(WeightMatrix.Rows(weight.detach()).clone());
        frozen.Set(weight, fixedPart.detach().contiguous().clone());
        factors.Set(weight, theta.detach().contiguous().clone());
        firstMoment.Set(weight, zeros_like(theta));
        secondMoment.Set(weight, zeros_like(theta));
        steps.Set(weight, zeros(1, dtype: ScalarType.Int64));
    }

    /// <summary>A copy of θ of <paramref name="weight"/>, or null before it was seen.</summary>
    public Tensor? Factors(Tensor weight) => factors.TryGet(weight, out var theta) ? theta.detach().clone() : null;

    /// <summary>A copy of the frozen matrix of <paramref name="weight"/>, or null before it was seen.</summary>
    public Tensor? Frozen(Tensor weight) => frozen.TryGet(weight, out var fixedPart) ? fixedPart.detach().clone() : null;

    /// <summary>
    /// ∂/∂θ of ⟨<paramref name="gradient"/>, merge(frozen, θ)⟩ + <paramref name="strength"/>·orth(θ): the chain rule of
    /// a loss whose gradient in W is <paramref name="gradient"/>, plus the penalty's gradient.
    /// </summary>
    public Tensor FactorGradient(Tensor weight, Tensor gradient, double strength)
    {
        Remember(weight);
        factors.TryGet(weight, out var theta);
        frozen.TryGet(weight, out var fixedPart);
        using var scope = NewDisposeScope();
        using var enable = enable_grad();
        var leaf = theta.detach().clone().requires_grad_();
        var objective = factorization.Merge(fixedPart, leaf).mul(WeightMatrix.Rows(gradient.detach())).sum();
        if (strength != 0)
            objective = objective.add(factorization.Orthogonality(leaf, weight.shape[0], Columns(weight)).mul(HeldScalar.Of(strength)));
        return autograd.grad([objective], [leaf])[0].detach().MoveToOuterDisposeScope();
    }

    /// <summary>One Adam step of θ on the gradient <paramref name="gradient"/> of W, then W ← merge(frozen, θ).</summary>
    public void Step(Tensor weight, Tensor? gradient, double strength)
    {
        if (gradient is null) return;
        using var scope = NewDisposeScope();
        var g = FactorGradient(weight, gradient, strength);
        using var noGrad = no_grad();
        factors.TryGet(weight, out var theta);
        firstMoment.TryGet(weight, out var m1);
        secondMoment.TryGet(weight, out var m2);
        steps.TryGet(weight, out var count);
        count.add_(HeldScalar.Of(1L));
        var t = count.item<long>();
        m1.mul_(HeldScalar.Of(Beta1)).add_(g, alpha: HeldScalar.Of(1 - Beta1));
        m2.mul_(HeldScalar.Of(Beta2)).addcmul_(g, g, value: HeldScalar.Of(1 - Beta2));
        var denominator = m2.sqrt().div_(HeldScalar.Of(Math.Sqrt(1 - Math.Pow(Beta2, t)))).add_(HeldScalar.Of(AdamEpsilon));
        theta.addcdiv_(m1, denominator, value: HeldScalar.Of(-LearningRate / (1 - Math.Pow(Beta1, t))));
        Write(weight);
    }

    /// <summary>merge(frozen, θ) in <paramref name="weight"/>'s shape, or null before it was seen.</summary>
    public Tensor? Merged(Tensor weight)
    {
        if (!factors.TryGet(weight, out var theta) || !frozen.TryGet(weight, out var fixedPart)) return null;
        using var noGrad = no_grad();
        return factorization.Merge(fixedPart, theta).reshape(weight.shape);
    }

    private void Write(Tensor weight)
    {
        using var scope = NewDisposeScope();
        if (Merged(weight) is { } merged) weight.copy_(merged);
    }

    /// <summary><paramref name="strength"/>·orth(θ) of <paramref name="weight"/> (0 before it was seen); constant in W.</summary>
    public Tensor Penalty(Tensor weight, double strength)
    {
        if (!factors.TryGet(weight, out var theta)) return zeros(1, dtype: weight.dtype, device: weight.device).sum();
        return factorization.Orthogonality(theta, weight.shape[0], Columns(weight)).mul(HeldScalar.Of(strength));
    }

    public IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = frozen.Save(parameters);
        foreach (var store in new[] { factors, firstMoment, secondMoment, steps }) store.SaveInto(state, parameters);
        return state;
    }

    public void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        PerParameterTensors.Load(state, parameters, frozen, factors, firstMoment, secondMoment, steps);

    private static long Columns(Tensor weight) => weight.numel() / weight.shape[0];

    private long Count(Tensor weight) => factorization.FactorCount(weight.shape[0], Columns(weight));
}
