using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Wasserstein regularization toward the initial weight distribution, from Lewandowski et al., "Learning
/// Continually by Spectral Regularization" (seed paper #26, first version): the squared 1-D Wasserstein-2
/// distance between a layer's current weights and the weights it had when this regularizer first saw it,
/// R(θ) = γ·Σ_i (sort(θ)_i − sort(θ₀)_i)², ∂R/∂θ_(i) = 2γ·(sort(θ)_i − sort(θ₀)_i) at the position of the
/// i-th smallest weight. Unlike L2 toward θ₀ it only keeps the distribution: any permutation of θ₀ costs 0.
/// </summary>
public sealed class WassersteinInitRegularization : GradientRegularizer
{
    // θ₀ is taken when the regularizer first sees a tensor; checkpoints keep it, or a resume would take the resumed weights.
    private readonly PerParameterTensors sortedInitial = new("", p => [p.numel()]);

    /// <inheritdoc />
    public override string Name => "wasserstein";

    /// <summary>Records <paramref name="weight"/>'s current values as its initial distribution (done on first use otherwise).</summary>
    public void Remember(Tensor weight)
    {
        using var _ = no_grad();
        sortedInitial.Set(weight, weight.detach().flatten().sort().Values.clone());
    }

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var initial = Initial(weight);
        var (values, order) = weight.detach().flatten().sort();
        var difference = values.sub(initial).mul(HeldScalar.Of(2 * strength));
        var gradient = zeros_like(difference).index_put_(difference, order);
        grad.add_(gradient.reshape(weight.shape));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        weight.flatten().sort().Values.sub(Initial(weight)).square().sum().mul(HeldScalar.Of(strength));

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        sortedInitial.Save(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        PerParameterTensors.Load(state, parameters, sortedInitial);

    private Tensor Initial(Tensor weight)
    {
        if (sortedInitial.TryGet(weight, out var initial)) return initial;
        Remember(weight);
        sortedInitial.TryGet(weight, out initial);
        return initial;
    }
}
