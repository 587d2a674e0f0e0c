using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>The gradient-norm complexity term measured on a sample.</summary>
/// <param name="MeanSquaredNorm">(1/n)·Σ_i‖∇_w ℓ(w, x_i)‖², the paper's complexity term.</param>
/// <param name="SquaredNormOfMean">‖(1/n)·Σ_i∇_w ℓ(w, x_i)‖², the full-batch gradient's, for contrast (≤ the mean; equal only when every per-sample gradient is the same).</param>
/// <param name="Samples">n.</param>
/// <param name="Parameters">The number of weights the gradient is taken over (unpruned entries only).</param>
public sealed record GradientNormMeasure(double MeanSquaredNorm, double SquaredNormOfMean, long Samples, long Parameters);

/// <summary>
/// The loss-gradient-norm complexity of Gat, Adi, Schwing, Hazan, "On the Importance of Gradient Norm in PAC-Bayesian
/// Bounds" (NeurIPS 2022, seed paper #30): their PAC-Bayes bound assumes only on-average bounded loss and gradient
/// norm (through a log-Sobolev inequality) and its complexity grows with E_x‖∇_w ℓ(w, x)‖², the expected squared
/// norm of the per-sample loss gradient. Measured here at the trained weights (the posterior mean, not averaged over
/// posterior samples) on n examples, one backward pass each: (1/n)·Σ_i‖∇_w ℓ(w, x_i)‖². Pruned weights are fixed at
/// zero and are not parameters of the pruned model, so entries where a mask is 0 are left out of the norm.
/// </summary>
public static class GradientNormComplexity
{
    /// <summary>
    /// The measure over <paramref name="inputs"/>/<paramref name="targets"/> (first dimension n) for the loss
    /// <paramref name="loss"/>(output, target) of one example, over <paramref name="parameters"/> (all of the model's
    /// when null), with <paramref name="masks"/> by parameter name (a missing name: no mask). The model's
    /// gradients (<c>.grad</c>) are left untouched; put it in evaluation mode first if it has dropout or batch norm.
    /// </summary>
    public static GradientNormMeasure Measure(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, Func<Tensor, Tensor, Tensor> loss,
        IReadOnlyList<(string Name, Tensor Parameter)>? parameters = null, IReadOnlyDictionary<string, Tensor>? masks = null,
        CancellationToken cancellationToken = default)
    {
        TorchBackend.EnsureVerified();
        if (inputs.shape[0] == 0 || inputs.shape[0] != targets.shape[0])
            throw new ArgumentException($"expected as many targets as inputs, at least one: {inputs.shape[0]} inputs, {targets.shape[0]} targets", nameof(targets));
        var chosen = parameters ?? model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)).ToList();
        using var scope = NewDisposeScope();
        var weights = chosen.Select(p => p.Parameter).ToList();
        var keep = chosen.Select(p => masks is not null && masks.TryGetValue(p.Name, out var m) ? m.to(float64).cpu() : null).ToList();
        var count = keep.Select((m, i) => m is null ? weights[i].numel() : m.sum().item<double>()).Sum();
        var sum = weights.Select(w => zeros(w.shape, dtype: float64)).ToList();
        var meanSquared = 0.0;
        var n = inputs.shape[0];
        for (long i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var value = loss(model.forward(inputs.narrow(0, i, 1)), targets.narrow(0, i, 1));
            var gradients = autograd.grad([value], weights, allow_unused: true);
            for (var j = 0; j < weights.Count; j++)
            {
                if (gradients[j] is not { } g || g.IsInvalid) continue;
                var g64 = g.detach().cpu().to(float64);
                if (keep[j] is { } mask) g64 = g64.mul(mask);
                meanSquared += g64.square().sum().item<double>();
                sum[j].add_(g64);
            }
        }
        var squaredNormOfMean = sum.Sum(s => s.div(HeldScalar.Of(n)).square().sum().item<double>());
        return new GradientNormMeasure(meanSquared / n, squaredNormOfMean, n, (long)count);
    }
}
