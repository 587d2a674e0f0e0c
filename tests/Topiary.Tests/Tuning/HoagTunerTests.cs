using Topiary.Tuning;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

public class HoagTunerTests
{
    [Fact]
    public void Tolerances_decrease_geometrically_and_are_summable()
    {
        var tuner = new HoagTuner(initialTolerance: 0.01, toleranceDecay: 0.9);
        var sum = 0.0;
        for (var k = 0; k < 2000; k++)
        {
            var tolerance = tuner.Tolerance(k);
            sum += tolerance;
            if (tuner.Tolerance(k) > HoagTuner.ToleranceFloor) Assert.True(tuner.Tolerance(k + 1) < tolerance);
            else Assert.Equal(HoagTuner.ToleranceFloor, tolerance);
        }
        Assert.Equal(0.01, tuner.Tolerance(0));
        Assert.Equal(0.01 * Math.Pow(0.9, 10), tuner.Tolerance(10), 15);
        Assert.True(sum <= 0.01 / (1 - 0.9) + 2000 * HoagTuner.ToleranceFloor);
    }

    [Fact]
    public void Converges_on_ridge_to_the_grid_optimum_of_the_validation_loss()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var optimum = ridge.GridOptimum();
        Assert.True(Math.Abs(optimum) < StrengthTuner.DefaultMaxLogMultiplier - 1, $"the grid optimum {optimum} should lie inside the clamp");
        // ε_k = 0.01·0.8^k: at k = 60 the tolerance slack (~1e-8) is below F's changes, so the adaptive step stops growing
        // into oscillation (with the default ρ = 0.9 it takes about twice as many updates).
        var tuner = new HoagTuner(initialTolerance: 0.01, toleranceDecay: 0.8);
        TuningUpdate? last = null;
        for (var k = 0; k < 60; k++) last = tuner.Update(ridge.Problem());

        // F is flat at its minimum: within 0.02 of the grid's θ (20 grid steps), F is within ~1e-6 of its minimum.
        Assert.True(Math.Abs(tuner.LogMultiplier - optimum) < 0.02, $"θ = {tuner.LogMultiplier}, grid optimum {optimum}");
        var gap = ridge.ValidationLoss(tuner.Multiplier * ridge.ScheduledStrength) - ridge.ValidationLoss(Math.Exp(optimum) * ridge.ScheduledStrength);
        Assert.True(gap < 1e-5 * last!.ValidationLoss, $"F is {gap} above the grid minimum, θ = {tuner.LogMultiplier}, grid {optimum}, p = {last.Hypergradient}, step {tuner.StepSize}");
        Assert.Equal(60, tuner.Iteration);
    }

    [Fact]
    public void The_multiplier_stays_within_the_clamp_and_the_state_round_trips()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var tuner = new HoagTuner(maxLogMultiplier: 0.1);
        for (var k = 0; k < 5; k++)
        {
            tuner.Update(ridge.Problem());
            Assert.InRange(tuner.LogMultiplier, -0.1, 0.1);
        }
        var copy = new HoagTuner(maxLogMultiplier: 0.1);
        copy.LoadState(tuner.SaveState());
        Assert.Equal(tuner.LogMultiplier, copy.LogMultiplier);
        Assert.Equal(tuner.Iteration, copy.Iteration);
        Assert.Equal(tuner.StepSize, copy.StepSize);
    }

    [Fact]
    public void A_solve_stopped_at_negative_curvature_does_not_warm_start_the_next()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var convex = ridge.Problem(offline: false);
        // The training loss negated: H = −2XᵀX/n + 2λI is negative definite, so CG stops at its first direction.
        var concave = new TuningProblem
        {
            Parameters = convex.Parameters, Regularized = convex.Regularized, Regularizer = convex.Regularizer,
            ScheduledStrength = convex.ScheduledStrength, TrainingBatches = convex.TrainingBatches,
            TrainingLoss = i => convex.TrainingLoss(i).neg(), ValidationBatches = convex.ValidationBatches, ValidationLoss = convex.ValidationLoss,
        };
        var tuner = new HoagTuner();
        var first = tuner.Update(concave);
        var second = tuner.Update(concave);
        Assert.Equal(1, first.HessianProducts);
        // A warm start would cost one more product (the starting residual) and carry the stopped iterate on.
        Assert.Equal(1, second.HessianProducts);
    }
}
