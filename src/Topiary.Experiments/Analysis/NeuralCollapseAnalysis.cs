using Topiary.Backend;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>How collapsed a model's penultimate features are on a labelled set (all 0 at full neural collapse).</summary>
/// <param name="Nc1">Papyan et al.'s NC1, tr(Σ_WΣ_B⁺)/K (class-balanced Σ_W).</param>
/// <param name="WithinOverBetween">tr(Σ_W)/tr(Σ_B), the within-class term of <see cref="NeuralCollapseRegularizer"/>.</param>
/// <param name="Equinorm">std/mean of the norms ‖μ_k − μ̄‖ of the centered class means (NC2, equal norms).</param>
/// <param name="Equiangularity">mean_{k≠l}(cos(μ_k − μ̄, μ_l − μ̄) + 1/(K−1))², the between-class term of <see cref="NeuralCollapseRegularizer"/>.</param>
/// <param name="MaxCosineGap">max_{k≠l}|cos(μ_k − μ̄, μ_l − μ̄) + 1/(K−1)| (NC2, equal maximal angles).</param>
/// <param name="Examples">The number of inputs.</param>
/// <param name="Classes">K, the classes present.</param>
/// <param name="Dimension">d, the features' dimension.</param>
public sealed record NeuralCollapseMetric(double Nc1, double WithinOverBetween, double Equinorm, double Equiangularity, double MaxCosineGap,
    long Examples, long Classes, long Dimension);

/// <summary>
/// Neural-collapse measures (Papyan, Han, Donoho, PNAS 2020) of the features a model's last linear or convolution layer
/// reads, for the neural-collapse regularizers of seed paper #57 (<see cref="NeuralCollapseRegularizer"/>), which measures
/// the collapse its terms induce: within-class variability (NC1) and the class means' distance from a simplex
/// equiangular tight frame (NC2).
/// </summary>
public static class NeuralCollapseAnalysis
{
    /// <summary>The measures on the penultimate features of <paramref name="model"/> (in evaluation mode) over <paramref name="inputs"/>, in batches.</summary>
    public static NeuralCollapseMetric Measure(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, int batchSize = 1000)
    {
        TorchBackend.EnsureVerified();
        using var scope = NewDisposeScope();
        return Of(Features(model, inputs, batchSize), labels);
    }

    /// <summary>The measures of features (N, d) with class indices (N); at least two classes.</summary>
    /// <exception cref="ArgumentException">Fewer than two classes are present.</exception>
    public static NeuralCollapseMetric Of(Tensor features, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var h = features.detach().flatten(1).cpu().to(float64);
        var y = labels.cpu();
        var terms = NeuralCollapseRegularizer.Terms(h, y) ?? throw new ArgumentException("neural collapse needs at least two classes", nameof(labels));
        var membership = NeuralCollapseRegularizer.Membership(y, float64);
        var classes = membership.shape[1];
        var counts = membership.sum(new long[] { 0 });
        var means = membership.t().matmul(h).div(counts.unsqueeze(1));
        var centered = means.sub(means.mean([0], keepdim: true));
        var deviations = h.sub(membership.matmul(means)).mul(membership.matmul(counts.reciprocal()).sqrt().unsqueeze(1));
        var within = deviations.t().matmul(deviations).div(HeldScalar.Of(classes));
        var between = centered.t().matmul(centered).div(HeldScalar.Of(classes));
        var nc1 = TraceAgainstPseudoInverse(within, between) / classes;
        var norms = centered.norm(1);
        var directions = centered.div(norms.unsqueeze(1));
        var gaps = directions.matmul(directions.t()).add(HeldScalar.Of(1.0 / (classes - 1))).abs()
            .mul(ones(classes, classes, dtype: float64).sub(eye(classes, dtype: float64)));
        return new NeuralCollapseMetric(nc1, terms.Within.item<double>(), norms.std().item<double>() / norms.mean().item<double>(),
            terms.Between.item<double>(), gaps.max().item<double>(), h.shape[0], classes, h.shape[1]);
    }

    // tr(A·B⁺) for symmetric B ⪰ 0 of rank K − 1: Σ_j v_jᵀAv_j/λ_j over the eigenpairs with λ_j above 1e-10·λ_max.
    private static double TraceAgainstPseudoInverse(Tensor a, Tensor b)
    {
        var (values, vectors) = linalg.eigh(b);
        var kept = values.gt(values.max().mul(HeldScalar.Of(1e-10)));
        var quadratic = vectors.t().matmul(a).matmul(vectors).diagonal();
        return quadratic.div(where(kept, values, ones_like(values))).mul(kept.to(float64)).sum().item<double>();
    }

    private static Tensor Features(nn.Module<Tensor, Tensor> model, Tensor inputs, int batchSize)
    {
        using var recorder = new ActivationRecorder(model);
        var parts = new List<Tensor>();
        using (no_grad())
        {
            for (long start = 0; start < inputs.shape[0]; start += batchSize)
            {
                recorder.Start();
                model.call(inputs.narrow(0, start, Math.Min(batchSize, inputs.shape[0] - start)));
                recorder.Stop();
                if (recorder.Activations.Count == 0)
                    throw new ArgumentException("the model has no linear or convolution layer after the first, so no penultimate features", nameof(model));
                parts.Add(recorder.Activations[^1].flatten(1).to(float64).clone());
            }
        }
        return cat(parts);
    }
}
