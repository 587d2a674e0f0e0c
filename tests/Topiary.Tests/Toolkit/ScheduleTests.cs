using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Pruning.Toolkit;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class ScheduleTests
{
    [Fact]
    public void The_polynomial_schedule_follows_zhu_and_gupta_at_every_pruning_step()
    {
        manual_seed(51);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var schedule = new PolynomialSparsitySchedule(0.1, 0.9, startStep: 20, pruningSteps: 8, frequency: 5);
        var policy = new GradualMagnitudePolicy(schedule);
        var context = new PruningContext(masks, new MetricFloor(0), () => new EvaluationResult(1, 0), 10, 100, NullLogger.Instance);
        var pruningSteps = 0;
        for (long t = 1; t <= 100; t++)
        {
            context.Step = t;
            var sparsityBefore = 1 - (double)masks.Remaining / masks.Total;
            policy.AfterStep(context);
            var sparsity = 1 - (double)masks.Remaining / masks.Total;
            if (schedule.IsPruningStep(t))
            {
                pruningSteps++;
                var formula = 0.9 + (0.1 - 0.9) * Math.Pow(1 - (t - 20) / (8.0 * 5), 3);
                Assert.Equal(Math.Round(formula * masks.Total) / masks.Total, sparsity, 9);
            }
            else
            {
                Assert.Equal(sparsityBefore, sparsity);
            }
        }
        Assert.Equal(9, pruningSteps);   // t0, t0+Δt, …, t0+nΔt
        Assert.Equal(0.9, 1 - (double)masks.Remaining / masks.Total, 5);
    }

    [Fact]
    public void One_shot_prunes_to_the_target_once()
    {
        manual_seed(52);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var policy = new OneShotPolicy(0.75);
        var context = new PruningContext(masks, new MetricFloor(0), () => new EvaluationResult(1, 0), 10, 100, NullLogger.Instance);
        Assert.True(policy.AtEvaluation(context, new EvaluationResult(1, 0)));
        Assert.False(policy.AtEvaluation(context, new EvaluationResult(1, 0)));
        Assert.Equal(0.25, masks.Density, 5);
    }

    [Fact]
    public void One_shot_per_layer_brings_every_layer_to_the_target()
    {
        manual_seed(53);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var policy = new OneShotPolicy(0.8) { Ranking = RankingScope.PerLayer };
        var context = new PruningContext(masks, new MetricFloor(0), () => new EvaluationResult(1, 0), 10, 100, NullLogger.Instance);
        policy.AtEvaluation(context, new EvaluationResult(1, 0));
        foreach (var e in masks.Entries)
            Assert.Equal(e.Mask.numel() - (long)Math.Round(0.8 * e.Mask.numel(), MidpointRounding.AwayFromZero), e.Mask.count_nonzero().item<long>());
    }

    [Fact]
    public void The_plateau_detector_fires_after_pwe_evaluations_without_progress()
    {
        var plateau = new PlateauDetector(patience: 2);
        Assert.False(plateau.Observe(1.0));
        Assert.False(plateau.Observe(0.9));
        Assert.False(plateau.Observe(0.895));   // within 1 % of the best: no progress
        Assert.True(plateau.Observe(0.93));
        Assert.True(new PlateauDetector(0).Observe(5));
    }

    [Fact]
    public void The_iterative_rule_keeps_every_layer_within_its_recipe_limits()
    {
        manual_seed(54);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var limits = new LayerLimits { Default = new SparsityLimits(0, 0.9), Overrides = new[] { ("*1.weight", new SparsityLimits(0, 0.3)) } };
        var policy = new IterativeFractionPolicy(0.2) { Limits = limits };
        var context = new PruningContext(masks, new MetricFloor(0), () => new EvaluationResult(1, 0), 10, 100, NullLogger.Instance);
        for (var k = 0; k < 15; k++)
        {
            var remaining = masks.Remaining;
            policy.AtEvaluation(context, new EvaluationResult(1, 0));
            Assert.True(remaining - masks.Remaining <= (long)Math.Round(0.2 * remaining, MidpointRounding.AwayFromZero));
        }
        foreach (var e in masks.Entries)
        {
            var sparsity = 1 - e.Mask.count_nonzero().item<long>() / (double)e.Mask.numel();
            Assert.True(sparsity <= limits.For(e.Name).Max + 1e-9, $"{e.Name} is {sparsity:P2} sparse, above its limit");
        }
        // The largest layer carries the global ranking's cut, so it must have been stopped exactly at its bound.
        var largest = masks.Entries.MaxBy(e => e.Mask.numel())!;
        Assert.Equal(limits.For(largest.Name).Max, 1 - largest.Mask.count_nonzero().item<long>() / (double)largest.Mask.numel(), 3);
    }

    [Theory]
    [InlineData(RankingScope.Global)]
    [InlineData(RankingScope.PerLayer)]
    public void The_iterative_crop_stops_exactly_at_its_maximum_sparsity(RankingScope ranking)
    {
        manual_seed(52);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var policy = new IterativeFractionPolicy(0.3) { MaxSparsity = 0.9, Ranking = ranking };
        var context = new PruningContext(masks, new MetricFloor(0), () => new EvaluationResult(1, 0), 10, 100, NullLogger.Instance);
        var wanted = masks.Total - (long)Math.Round(0.9 * masks.Total, MidpointRounding.AwayFromZero);
        var crops = 0;
        while (policy.AtEvaluation(context, new EvaluationResult(1, 0)))
        {
            Assert.True(masks.Remaining >= wanted - masks.Entries.Count, $"crop {crops + 1} went past the maximum: {masks.Remaining} left");
            Assert.True(++crops < 20, "the crops did not stop");
        }
        // (1 − 0.3)^6 = 0.118 > 0.1 > 0.7^7: six full crops, then a seventh clipped to land on the maximum.
        Assert.Equal(7, crops);
        if (ranking == RankingScope.Global) Assert.Equal(wanted, masks.Remaining);
        else Assert.InRange(masks.Remaining, wanted - masks.Entries.Count, wanted + masks.Entries.Count);
        Assert.False(policy.AtEvaluation(context, new EvaluationResult(1, 0)));
    }

    [Fact]
    public void A_maximum_sparsity_outside_the_open_unit_interval_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IterativeFractionPolicy(0.1) { MaxSparsity = 1 });
}
