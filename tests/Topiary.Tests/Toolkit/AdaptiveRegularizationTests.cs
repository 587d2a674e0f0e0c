using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

/// <summary>
/// The ART schedule of HyperSparse (#94b): λ_e = λ0·η^e per check, a stop at the first check where the copy
/// pruned to κ is as good as the unpruned model, a forced stop at 60 % of the budget, then a fixed mask and no penalty.
/// The validation metric is scripted, so each test says exactly when the rule must fire.
/// </summary>
public class AdaptiveRegularizationTests
{
    private const double Kappa = 0.7;

    /// <summary>Two bias-free linear layers (12·10 + 10·4 = 160 prunable weights), pruned globally.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> model;

        public Rig(int seed)
        {
            manual_seed(seed);
            model = nn.Sequential(nn.Linear(12, 10, hasBias: false), nn.ReLU(), nn.Linear(10, 4, hasBias: false));
            Masks = new PruningMasks(new LayerSelector().Select(model));
            Penalty = new HyperSparsePenalty(Masks.Entries.Select(e => (Tensor)e.Parameter).ToList(), Kappa);
        }

        public PruningMasks Masks { get; }

        public HyperSparsePenalty Penalty { get; }

        /// <summary>How often the schedule asked for a validation.</summary>
        public int Validations { get; private set; }

        /// <summary>
        /// A context whose validation returns <paramref name="dense"/> while no weight is pruned and
        /// <paramref name="pruned"/>(check number, 1-based) while the copy is pruned.
        /// </summary>
        public PruningContext Context(long totalSteps, double dense, Func<int, double> pruned)
        {
            var checkNumber = 0;
            return new PruningContext(Masks, new MetricFloor(0), () =>
            {
                Validations++;
                if (Masks.Remaining == Masks.Total)
                {
                    checkNumber++;
                    return new EvaluationResult(dense, 0);
                }
                return new EvaluationResult(pruned(checkNumber), 0);
            }, 10, totalSteps, NullLogger.Instance);
        }

        public Tensor[] Weights() => Masks.Entries.Select(e => e.Parameter.detach().clone()).ToArray();

        public void Dispose()
        {
            Masks.Dispose();
            model.Dispose();
        }
    }

    [Fact]
    public void The_strength_is_lambda0_times_eta_to_the_number_of_checks_passed_and_nothing_else_changes()
    {
        using var rig = new Rig(941);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 1.5, checkEvery: 5);
        var context = rig.Context(totalSteps: 1000, dense: 0.9, pruned: _ => 0.5);
        var weightsBefore = rig.Weights();
        var first = rig.Masks.Entries[0].Parameter;
        var unitGradient = AddedGradient(rig.Penalty, first, strength: 1);   // multiplier 1 at the start
        const double lambda0 = 1e-3;

        for (long t = 1; t <= 40; t++)
        {
            context.Step = t;
            Assert.False(policy.AfterStep(context));
            var checksPassed = (int)(t / 5);
            var expected = Math.Pow(1.5, checksPassed);
            Assert.Equal(expected, rig.Penalty.Multiplier, 12);
            // The strength that reaches the gradient is λ0·η^e, not λ0 (the multiplier must be applied).
            using var added = AddedGradient(rig.Penalty, first, lambda0);
            Assert.True(added.allclose(unitGradient.mul(lambda0 * expected), rtol: 1e-5, atol: 1e-12));
        }
        Assert.Equal(8 * 2, rig.Validations);   // two evaluations (unpruned, pruned copy) per check, none between
        Assert.False(policy.Terminated);
        Assert.Equal(rig.Masks.Total, rig.Masks.Remaining);   // the trial pruning of each check was undone exactly
        foreach (var (before, entry) in weightsBefore.Zip(rig.Masks.Entries))
            Assert.True(before.equal(entry.Parameter.detach()).all().item<bool>());
    }

    [Fact]
    public void The_check_fires_at_the_first_check_where_the_pruned_copy_is_as_good_and_not_before()
    {
        using var rig = new Rig(942);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 2, checkEvery: 4);
        // Accuracy: the pruned copy trails by less and less, and ties the unpruned model at the fourth check.
        var script = new[] { 0.5, 0.7, 0.7999, 0.8, 0.9 };
        var context = rig.Context(totalSteps: 1000, dense: 0.8, pruned: check => script[check - 1]);
        long stoppedAt = 0;
        for (long t = 1; t <= 40 && stoppedAt == 0; t++)
        {
            context.Step = t;
            if (policy.AfterStep(context)) stoppedAt = t;
            else Assert.False(policy.Terminated);
            if (stoppedAt == 0) Assert.Equal(Math.Pow(2, t / 4), rig.Penalty.Multiplier, 12);
        }
        Assert.Equal(16, stoppedAt);
        Assert.True(policy.Terminated);
    }

    [Fact]
    public void For_a_loss_the_pruned_copy_must_be_no_higher()
    {
        using var rig = new Rig(943);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 2, checkEvery: 3, higherIsBetter: false);
        var script = new[] { 2.0, 1.2, 1.0 };   // a loss of 1.2 is worse than the unpruned 1.1; 1.0 is better
        var context = rig.Context(totalSteps: 1000, dense: 1.1, pruned: check => script[check - 1]);
        var fired = new List<long>();
        for (long t = 1; t <= 12; t++)
        {
            context.Step = t;
            if (policy.AfterStep(context)) fired.Add(t);
        }
        Assert.Equal(new long[] { 9 }, fired);
    }

    [Theory]
    [InlineData(10, 60)]   // a check falls on 60 % of the budget
    [InlineData(7, 63)]    // the first check at or after 60 %
    [InlineData(1, 60)]
    public void The_stop_is_forced_at_the_first_check_at_or_after_sixty_percent_of_the_budget(int checkEvery, long expectedStop)
    {
        using var rig = new Rig(944);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 1.1, checkEvery: checkEvery);
        Assert.Equal(0.6, policy.ForceAtFraction);
        var context = rig.Context(totalSteps: 100, dense: 0.9, pruned: _ => 0.1);   // the copy never catches up
        var fired = new List<long>();
        for (long t = 1; t <= 100; t++)
        {
            context.Step = t;
            if (policy.AfterStep(context)) fired.Add(t);
        }
        Assert.Equal(new[] { expectedStop }, fired);
        Assert.Equal(1 - Kappa, rig.Masks.Density, 9);
    }

    [Fact]
    public void After_the_stop_the_kappa_mask_of_the_smallest_weights_is_fixed_and_the_penalty_is_off()
    {
        using var rig = new Rig(945);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 2, checkEvery: 5);
        var context = rig.Context(totalSteps: 1000, dense: 0.9, pruned: check => check < 2 ? 0.5 : 0.95);
        for (long t = 1; t <= 9; t++)
        {
            context.Step = t;
            Assert.False(policy.AfterStep(context));
        }
        var magnitudes = cat(rig.Masks.Entries.Select(e => e.Parameter.detach().abs().flatten()).ToArray());
        context.Step = 10;
        Assert.True(policy.AfterStep(context));

        // κ of the weights, the smallest in magnitude, are masked and zeroed.
        var removed = (long)Math.Round(Kappa * rig.Masks.Total, MidpointRounding.AwayFromZero);
        Assert.Equal(rig.Masks.Total - removed, rig.Masks.Remaining);
        var keep = cat(rig.Masks.Entries.Select(e => e.Mask.flatten()).ToArray()).to_type(ScalarType.Bool);
        Assert.True(magnitudes.masked_select(keep).min().item<float>() >= magnitudes.masked_select(keep.logical_not()).max().item<float>());
        foreach (var e in rig.Masks.Entries)
            Assert.Equal(0, e.Parameter.detach().mul(e.Mask.logical_not()).abs().sum().item<float>());

        // The regularizer is off: whatever strength is passed, the gradient is untouched.
        Assert.Equal(0, rig.Penalty.Multiplier);
        using var added = AddedGradient(rig.Penalty, rig.Masks.Entries[1].Parameter, strength: 1);
        Assert.Equal(0, added.abs().max().item<float>());

        // Fine-tuning: the schedule never checks, prunes or validates again.
        var validations = rig.Validations;
        var masksAfter = rig.Masks.Snapshot();
        for (long t = 11; t <= 60; t++)
        {
            context.Step = t;
            Assert.False(policy.MayPruneAfterStep(context));
            Assert.False(policy.AfterStep(context));
        }
        Assert.Equal(validations, rig.Validations);
        foreach (var e in rig.Masks.Entries) Assert.True(masksAfter[e.Name].equal(e.Mask).all().item<bool>());
        Assert.Equal(0, rig.Penalty.Multiplier);
    }

    [Fact]
    public void The_saved_state_restores_the_strength_and_the_stop()
    {
        using var rig = new Rig(946);
        var policy = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 3, checkEvery: 2);
        var context = rig.Context(totalSteps: 1000, dense: 0.9, pruned: _ => 0.1);
        for (long t = 1; t <= 6; t++)
        {
            context.Step = t;
            policy.AfterStep(context);
        }
        var state = policy.SaveState();
        rig.Penalty.Multiplier = 1;
        var resumed = new AdaptiveRegularizationPolicy(rig.Penalty, growth: 3, checkEvery: 2);
        resumed.LoadState(state);
        Assert.Equal(27, rig.Penalty.Multiplier, 12);
        Assert.False(resumed.Terminated);
    }

    [Fact]
    public void The_hypersparse_method_checks_once_per_epoch_with_its_growth_kappa_and_metric_direction()
    {
        using var rig = new Rig(948);
        var method = new HyperSparsePruning { Lambda = 2e-4, Growth = 3, TargetSparsity = 0.6 };
        var parts = method.Build(rig.Masks, new PruningPlan(StepsPerEpoch: 7, TotalSteps: 1000, EvaluationInterval: 5, HigherIsBetter: false));

        var penalty = Assert.IsType<HyperSparsePenalty>(parts.Regularizer);
        Assert.Equal(0.6, penalty.PruneRate);
        Assert.Equal(2e-4, method.Strength);   // λ0: the session passes it, the schedule scales it by η^e
        var policy = Assert.IsType<AdaptiveRegularizationPolicy>(parts.Policy);
        Assert.Equal(7, policy.CheckEvery);
        Assert.Equal(3, policy.Growth);
        // A loss: the pruned copy's 0.9 beats the unpruned 1.0 at the first epoch's end.
        var context = rig.Context(totalSteps: 1000, dense: 1.0, pruned: _ => 0.9);
        var fired = new List<long>();
        for (long t = 1; t <= 14; t++)
        {
            context.Step = t;
            if (policy.AfterStep(context)) fired.Add(t);
        }
        Assert.Equal(new long[] { 7 }, fired);
        Assert.Equal(0.4, rig.Masks.Density, 9);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        using var rig = new Rig(947);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveRegularizationPolicy(rig.Penalty, growth: 1, checkEvery: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveRegularizationPolicy(rig.Penalty, growth: 2, checkEvery: 0));
    }

    /// <summary>What the penalty adds to a zero gradient of <paramref name="weight"/> at <paramref name="strength"/>.</summary>
    private static Tensor AddedGradient(HyperSparsePenalty penalty, Tensor weight, double strength)
    {
        var grad = zeros_like(weight);
        penalty.AddGradient(weight, grad, strength);
        return grad;
    }
}
