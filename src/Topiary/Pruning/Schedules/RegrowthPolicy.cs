using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;

namespace Topiary.Pruning.Schedules;

/// <summary>How <see cref="RegrowthPolicy"/> chooses the connections it grows back.</summary>
public enum Regrowth
{
    /// <summary>The pruned entries with the largest |∂L/∂w| of the last batch (RigL, Evci et al., ICML 2020).</summary>
    Gradient,

    /// <summary>Pruned entries drawn uniformly at random (SET, Mocanu et al., Nature Communications 2018).</summary>
    Random,
}

/// <summary>
/// Dynamic sparse training at a constant sparsity (RigL, Evci et al., ICML 2020; SET, Mocanu et al. 2018): at the first
/// step the model is pruned by global magnitude to <see cref="TargetSparsity"/>; then every <see cref="UpdateInterval"/>
/// steps until step <see cref="EndStep"/>, each tensor drops the fraction f_t = α/2·(1 + cos(π t / T_end))
/// of its live weights with the smallest |w| and grows as many pruned connections back (<see cref="Regrowth"/>), at
/// weight 0 with no optimizer state, so every tensor keeps its sparsity exactly. Growth needs the dense gradient of the
/// step, which the session keeps for this policy (<see cref="ReadsDenseGradients"/>).
/// </summary>
public sealed class RegrowthPolicy : PruningPolicy
{
    private bool started;

    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public RegrowthPolicy(double targetSparsity, int updateInterval, long endStep, double dropFraction = 0.3, Regrowth regrowth = Regrowth.Gradient)
    {
        if (!(targetSparsity is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(targetSparsity), targetSparsity, "the sparsity must lie in (0, 1)");
        if (updateInterval < 1) throw new ArgumentOutOfRangeException(nameof(updateInterval), updateInterval, "the update interval must be at least 1 step");
        if (!(dropFraction is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(dropFraction), dropFraction, "the drop fraction must lie in (0, 1)");
        (TargetSparsity, UpdateInterval, EndStep, DropFraction, Regrowth) = (targetSparsity, updateInterval, endStep, dropFraction, regrowth);
    }

    /// <summary>The constant sparsity of the pruned tensors.</summary>
    public double TargetSparsity { get; }

    /// <summary>ΔT: steps between mask updates.</summary>
    public int UpdateInterval { get; }

    /// <summary>T_end: the last step that updates the mask (then the mask is fixed).</summary>
    public long EndStep { get; }

    /// <summary>α: the drop fraction at the first update, annealed by a cosine to 0 at T_end.</summary>
    public double DropFraction { get; }

    /// <summary>How connections grow back.</summary>
    public Regrowth Regrowth { get; }

    /// <inheritdoc />
    public override string Name => Regrowth == Regrowth.Gradient ? "rigl" : "set";

    /// <inheritdoc />
    public override bool ReadsDenseGradients => Regrowth == Regrowth.Gradient;

    /// <summary>Only at the mask updates after the first pruning: the other steps' gradients are never read.</summary>
    public override bool ReadsDenseGradientsAt(long step) => ReadsDenseGradients && started && step % UpdateInterval == 0 && step < EndStep;

    /// <summary>f_t at <paramref name="step"/>.</summary>
    public double DropFractionAt(long step) => DropFraction / 2 * (1 + Math.Cos(Math.PI * step / EndStep));

    /// <inheritdoc />
    public override bool MayPruneAfterStep(PruningContext context) =>
        !started || (context.Step % UpdateInterval == 0 && context.Step < EndStep);

    /// <inheritdoc />
    public override bool AfterStep(PruningContext context)
    {
        if (!MayPruneAfterStep(context)) return false;
        if (!started)
        {
            started = true;
            UnstructuredPruner.PruneToSparsity(context.Masks, TargetSparsity, RankingScope.Global, importance: context.Importance);
            context.Logger.LogDebug("step {Step}: pruned to {Sparsity} for dynamic sparse training", context.Step, TargetSparsity);
            return true;
        }
        var fraction = DropFractionAt(context.Step);
        long moved = 0;
        using (NewDisposeScope())
        using (no_grad())
        {
            using var generator = Regrowth == Regrowth.Random ? new Generator((ulong)context.Step) : null;
            foreach (var e in context.Masks.Entries)
            {
                var mask = e.Mask.flatten();
                var alive = mask.ne(HeldScalar.Of(0));
                var k = (long)Math.Floor(fraction * alive.sum().item<long>());
                k = Math.Min(k, mask.numel() - alive.sum().item<long>());   // as many to grow as were dead before
                if (k == 0) continue;
                // Drop: the k live entries with the smallest |w| (dead ones rank last).
                var magnitude = e.Parameter.detach().flatten().abs().to(float64).masked_fill(alive.logical_not(), HeldScalar.Of(double.PositiveInfinity));
                var dropped = magnitude.sort(0, descending: false, stable: true).Indices.narrow(0, 0, k);
                // Grow: k of the entries dead before this update, by |g| or at random (a weight just dropped stays dropped).
                var growScore = Regrowth == Regrowth.Gradient
                    ? (context.DenseGradient(e) ?? throw new InvalidOperationException($"RigL needs the dense gradient of '{e.Name}': the session keeps it for policies that read it")).flatten().abs().to(float64)
                    : rand(mask.numel(), generator: generator, dtype: float64);
                growScore = growScore.masked_fill(alive, HeldScalar.Of(double.NegativeInfinity));
                var grown = growScore.sort(0, descending: true, stable: true).Indices.narrow(0, 0, k);
                mask.index_fill_(0, dropped, HeldScalar.Of(0));
                mask.index_fill_(0, grown, HeldScalar.Of(1));
                e.Mask.copy_(mask.view_as(e.Mask));
                moved += k;
            }
        }
        context.Masks.ApplyToWeights();
        context.Logger.LogDebug("step {Step}: {Name} moved {Moved} connections (drop fraction {Fraction})", context.Step, Name, moved, fraction);
        return moved > 0;
    }

    /// <inheritdoc />
    public override System.Text.Json.Nodes.JsonObject SaveState() => new() { ["started"] = started };

    /// <inheritdoc />
    public override void LoadState(System.Text.Json.Nodes.JsonObject state) => started = state["started"]?.GetValue<bool>() ?? false;
}
