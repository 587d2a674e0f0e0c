using Topiary.Tuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

public class InexactBilevelTunerTests
{
    [Fact]
    public void Accepted_steps_never_raise_the_validation_loss_on_ridge_and_it_converges_to_the_grid_optimum()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var optimum = ridge.GridOptimum();
        var tuner = new InexactBilevelTuner();
        var loss = ridge.ValidationLoss(ridge.ScheduledStrength);
        var accepted = 0;
        for (var k = 0; k < 40; k++)
        {
            var update = tuner.Update(ridge.Problem());
            var now = ridge.ValidationLoss(tuner.Multiplier * ridge.ScheduledStrength);
            if (update.Accepted) { accepted++; Assert.True(now <= loss, $"update {k}: F rose from {loss} to {now}"); }
            else Assert.Equal(loss, now);
            loss = now;
        }
        Assert.True(accepted >= 5, $"only {accepted} accepted steps");
        // The margins (‖∇F‖·ε) stop it where F's decrease falls below the accuracy; 0.05 in θ costs F ~1e-5 relative here.
        Assert.True(Math.Abs(tuner.LogMultiplier - optimum) < 0.05, $"θ = {tuner.LogMultiplier}, grid optimum {optimum}");
    }

    [Fact]
    public void Accepted_steps_never_raise_the_validation_loss_on_logistic_regression()
    {
        using var scope = NewDisposeScope();
        using var logistic = new LogisticProblem();
        var tuner = new InexactBilevelTuner();
        var loss = logistic.ValidationLossAt(1.0);
        var accepted = 0;
        for (var k = 0; k < 15; k++)
        {
            var update = tuner.Update(logistic.Problem());
            var now = logistic.ValidationLossAt(tuner.Multiplier);
            if (update.Accepted) { accepted++; Assert.True(now <= loss + 1e-12, $"update {k}: F rose from {loss} to {now}"); }
            loss = now;
        }
        Assert.True(accepted >= 3, $"only {accepted} accepted steps");
    }

    [Fact]
    public void A_rejected_step_shrinks_the_step_tightens_the_accuracy_and_restores_the_weights()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var tuner = new InexactBilevelTuner(initialAccuracy: 0.1, initialStep: 1e4, shrink: 0.5, tighten: 0.5, maxBacktracks: 3);
        ridge.SetWeights(ridge.Solution(ridge.ScheduledStrength));
        var before = ridge.Weight.detach().clone();

        var update = tuner.Update(ridge.Problem());

        Assert.False(update.Accepted);
        Assert.Equal(1.0, tuner.Multiplier);
        Assert.Equal(1e4 * 0.25, tuner.LastTrialStep); // three trials: 1e4, 5e3, 2.5e3
        Assert.Equal(1e4, tuner.StepSize);               // the next update starts from α again, with a tighter ε
        Assert.Equal(0.05, tuner.Accuracy);
        Assert.True(before.eq(ridge.Weight).all().item<bool>(), "the weights were not restored");
    }

    [Fact]
    public void Online_it_evaluates_the_first_order_best_response_and_restores_the_weights_bit_exactly()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        ridge.SetWeights(ridge.Solution(ridge.ScheduledStrength));
        var before = ridge.Weight.detach().clone();
        var tuner = new InexactBilevelTuner();

        TuningUpdate? accepted = null;
        for (var k = 0; k < 30 && accepted is null; k++)
        {
            var update = tuner.Update(ridge.Problem(offline: false));
            Assert.True(before.eq(ridge.Weight).all().item<bool>(), $"update {k}: the weights were not restored");
            Assert.True(update.HessianProducts > 0);
            if (update.Accepted) accepted = update;
            else Assert.Equal(0.0, tuner.LogMultiplier);
        }

        Assert.NotNull(accepted);
        Assert.Equal(-Math.Sign(accepted.Hypergradient), Math.Sign(tuner.LogMultiplier));
    }

    [Fact]
    public void Online_the_first_trial_moves_the_log_multiplier_by_the_online_first_move_and_accepts_a_plain_decrease()
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        ridge.SetWeights(ridge.Solution(ridge.ScheduledStrength));
        var tuner = new InexactBilevelTuner(maxBacktracks: 1, onlineFirstMove: 0.3);
        var update = tuner.Update(ridge.Problem(offline: false));
        // One trial, of |Δθ| = 0.3 whatever the hypergradient's size; at the lower solution a step against the
        // hypergradient lowers F to first order, and online no accuracy margin stands in the way.
        Assert.Equal(0.3, tuner.LastTrialStep * Math.Abs(update.Hypergradient), 9);
        Assert.True(update.Accepted, $"the first online trial was rejected (hypergradient {update.Hypergradient})");
        Assert.Equal(0.3, Math.Abs(tuner.LogMultiplier), 9);
    }
}

/// <summary>
/// L2-regularized logistic regression in float64: a bias-free <c>nn.Linear</c>, mean binary cross-entropy on logits,
/// R = Σw²; the lower problem solved by Newton's method to machine precision.
/// </summary>
internal sealed class LogisticProblem : IDisposable
{
    private const double ScheduledStrength = 0.02;
    private readonly Linear model = nn.Linear(6, 1, hasBias: false, dtype: float64);
    private readonly Tensor x, y, xValid, yValid;

    public LogisticProblem()
    {
        var generator = new Generator(21);
        var truth = randn(6, 1, dtype: float64, generator: generator);
        x = randn(60, 6, dtype: float64, generator: generator).DetachFromDisposeScope();
        y = x.matmul(truth).add(randn(60, 1, dtype: float64, generator: generator).mul(1.5)).gt(0).to(float64).DetachFromDisposeScope();
        xValid = randn(40, 6, dtype: float64, generator: generator).DetachFromDisposeScope();
        yValid = xValid.matmul(truth).add(randn(40, 1, dtype: float64, generator: generator).mul(1.5)).gt(0).to(float64).DetachFromDisposeScope();
        Solve(1.0);
    }

    public TuningProblem Problem() => new()
    {
        Parameters = [model.weight!],
        Regularized = [model.weight!],
        Regularizer = new Topiary.Regularization.L2WeightDecay(),
        ScheduledStrength = ScheduledStrength,
        TrainingBatches = 1,
        TrainingLoss = _ => nn.functional.binary_cross_entropy_with_logits(model.forward(x), y),
        ValidationBatches = 1,
        ValidationLoss = _ => nn.functional.binary_cross_entropy_with_logits(model.forward(xValid), yValid),
        SolveLower = (m, _) => { Solve(m); return true; },
    };

    /// <summary>F at the lower solution for multiplier m (the weights are left there).</summary>
    public double ValidationLossAt(double multiplier)
    {
        using var scope = NewDisposeScope();
        Solve(multiplier);
        return nn.functional.binary_cross_entropy_with_logits(model.forward(xValid), yValid).item<double>();
    }

    // Newton on mean BCE + λ·Σw²: gradient Xᵀ(σ − y)/n + 2λw, Hessian XᵀSX/n + 2λI.
    private void Solve(double multiplier)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var lambda = multiplier * ScheduledStrength;
        var w = model.weight!.detach().t().clone();
        var n = x.shape[0];
        for (var i = 0; i < 50; i++)
        {
            var sigma = x.matmul(w).sigmoid();
            var gradient = x.t().matmul(sigma.sub(y)).div(n).add(w.mul(2 * lambda));
            var hessian = x.t().matmul(x.mul(sigma.mul(sigma.neg().add(1)))).div(n).add(eye(6, dtype: float64).mul(2 * lambda));
            w = w.sub(linalg.solve(hessian, gradient));
            if (gradient.norm().item<double>() < 1e-14) break;
        }
        model.weight!.copy_(w.t());
    }

    public void Dispose()
    {
        model.Dispose();
        foreach (var t in new[] { x, y, xValid, yValid }) t.Dispose();
    }
}
