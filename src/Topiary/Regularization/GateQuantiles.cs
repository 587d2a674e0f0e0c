using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>Quantiles of the relevance signal s and of the gate exp(−s/α) over a tensor's unpruned entries.</summary>
public static class GateQuantiles
{
    /// <summary>The levels reports use: 1 %, 10 %, 50 %, 90 % and 99 %.</summary>
    public static IReadOnlyList<double> Levels { get; } = [0.01, 0.1, 0.5, 0.9, 0.99];

    // torch.quantile refuses inputs above 2^24 entries; larger tensors are thinned to an even stride.
    private const long MaxQuantileInput = 1L << 24;

    /// <summary>
    /// The statistics of one tensor called <paramref name="name"/>: α, the quantiles at <paramref name="levels"/> (linear
    /// interpolation) of <paramref name="signal"/> and of exp(−signal/α), and the share of gates below ½, over the entries
    /// whose <paramref name="mask"/> is not 0 (all when null). NaN quantiles when every entry is pruned.
    /// </summary>
    public static LayerGate Of(string name, Tensor signal, double alpha, Tensor? mask, IReadOnlyList<double> levels)
    {
        using var scope = NewDisposeScope();
        var alive = Alive(signal.detach(), mask).to(float64);
        var n = alive.numel();
        if (n == 0)
        {
            var none = levels.Select(_ => double.NaN).ToList();
            return new LayerGate(name, alpha, none, none, double.NaN);
        }
        if (n > MaxQuantileInput) alive = alive.slice(0, 0, n, (n + MaxQuantileInput - 1) / MaxQuantileInput);
        var q = tensor(levels.ToArray(), dtype: float64);
        var gate = alive.div(HeldScalar.Of(-alpha)).exp_();
        return new LayerGate(name, alpha, Values(alive.quantile(q)), Values(gate.quantile(q)), gate.lt(HeldScalar.Of(0.5)).to(float64).mean().item<double>());
    }

    /// <summary>The ⌊q·(n − 1)⌋ + 1-th smallest of the n entries of the 1-D <paramref name="values"/> (linear time, no interpolation).</summary>
    public static Tensor Lower(Tensor values, double q)
    {
        var n = values.shape[0];
        return values.kthvalue((long)Math.Floor(q * (n - 1)) + 1, 0).values;
    }

    /// <summary>The entries of <paramref name="values"/> whose <paramref name="mask"/> is not 0, flattened (all of them when null).</summary>
    internal static Tensor Alive(Tensor values, Tensor? mask) =>
        mask is null ? values.flatten() : values.flatten().masked_select(mask.flatten().ne(HeldScalar.Of(0)));

    private static IReadOnlyList<double> Values(Tensor t) => t.data<double>().ToArray();
}
