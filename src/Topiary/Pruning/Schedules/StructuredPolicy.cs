using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// Neuron and filter pruning (Li et al., ICLR 2017, "Pruning Filters for Efficient ConvNets"; PyTorch's
/// <c>ln_structured</c> along dim 0): at the first evaluation each weight but the output layer's loses
/// <see cref="Fraction"/> of its output neurons (a Linear weight's rows, a convolution's filters), those whose rows have
/// the smallest score, together with their biases; then the network fine-tunes under the fixed mask. The score of a row
/// is its Ln norm (‖w_row‖_n) under the magnitude criterion, else the sum of the criterion's scores over the row. The
/// output layer keeps every output, since its outputs are the classes. <c>topiary simplify</c> then removes the dead
/// neurons and filters for a smaller dense model.
/// </summary>
public sealed class StructuredPolicy : FirstEvaluationPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <param name="fraction">Fraction of each layer's output neurons or filters removed, in (0, 1).</param>
    /// <param name="norm">n of the Ln norm, &gt; 0 (default 2).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public StructuredPolicy(double fraction, double norm = 2)
    {
        if (!(fraction is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the fraction of neurons removed must lie in (0, 1)");
        if (!(norm > 0)) throw new ArgumentOutOfRangeException(nameof(norm), norm, "the norm order must be > 0");
        (Fraction, Norm) = (fraction, norm);
    }

    /// <summary>Fraction of each layer's output neurons or filters removed.</summary>
    public double Fraction { get; }

    /// <summary>n of the Ln norm that ranks rows under the magnitude criterion.</summary>
    public double Norm { get; }

    /// <inheritdoc />
    public override string Name => "structured";

    /// <inheritdoc />
    /// <exception cref="PruningSelectionException">Fewer than two weights are pruned (the output layer keeps its outputs).</exception>
    protected override bool PruneOnce(PruningContext context)
    {
        var masks = context.Masks;
        var weights = masks.Entries.Where(e => e.Mask.dim() >= 2).ToList();
        if (weights.Count < 2)
            throw new PruningSelectionException("neuron pruning needs at least two pruned weights: the last (the output layer) keeps its outputs");
        var magnitude = ReferenceEquals(context.Importance, Importance.Magnitude);
        long removed = 0;
        using (NewDisposeScope())
        using (no_grad())
        {
            foreach (var weight in weights.Take(weights.Count - 1))
            {
                var rows = weight.Mask.shape[0];
                var scores = context.Importance(weight).mul(weight.Mask).reshape(rows, -1).to(float64);
                var rowScores = magnitude ? scores.abs().pow(HeldScalar.Of(Norm)).sum(1).pow(HeldScalar.Of(1 / Norm)) : scores.sum(1);
                var alive = weight.Mask.reshape(rows, -1).sum(1).gt(HeldScalar.Of(0));
                rowScores.masked_fill_(alive.logical_not(), HeldScalar.Of(double.PositiveInfinity));
                var k = PruningAmount.OfFraction(Fraction).Resolve(alive.count_nonzero().item<long>());
                if (k == 0) continue;
                var (_, order) = rowScores.sort(0, descending: false, stable: true);
                var gone = order.narrow(0, 0, k);
                weight.Mask.index_fill_(0, gone, HeldScalar.Of(0));
                if (BiasOf(masks, weight) is { } bias) bias.Mask.index_fill_(0, gone, HeldScalar.Of(0));
                removed += k;
            }
        }
        masks.ApplyToWeights();
        context.Logger.LogInformation("step {Step}: removed {Removed} neurons or filters ({Fraction} of each layer but the output layer)", context.Step, removed, Fraction);
        return removed > 0;
    }

    // The bias of the same module (name.weight → name.bias), when it is pruned too and has one entry per output.
    private static MaskedParameter? BiasOf(PruningMasks masks, MaskedParameter weight)
    {
        if (!weight.Name.EndsWith("weight", StringComparison.Ordinal)) return null;
        var name = weight.Name[..^"weight".Length] + "bias";
        return masks.Entries.FirstOrDefault(e => e.Name == name && e.Mask.dim() == 1 && e.Mask.shape[0] == weight.Mask.shape[0]);
    }
}
