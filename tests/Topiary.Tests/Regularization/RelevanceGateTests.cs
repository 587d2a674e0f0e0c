using TorchSharp;
using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>The calibrated relevance gate (issue 16): each option against a formula computed apart.</summary>
public class RelevanceGateTests
{
    private const double Gamma = 0.3;

    // The gate a regularizer applied, read back from the gradient it added: (g' − g) / (2γw).
    private static Tensor AppliedGate(RelevanceWeightDecay regularizer, Tensor w, Tensor g)
    {
        var changed = g.clone();
        regularizer.AddGradient(w, changed, Gamma);
        return changed.sub(g).div(w.mul(2 * Gamma));
    }

    private static double MaxDifference(Tensor a, Tensor b) => a.sub(b).abs().max().item<double>();

    // The ⌊q(n − 1)⌋ + 1-th smallest, by a plain sort in C#, independent of kthvalue.
    private static double LowerQuantile(IEnumerable<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted[(int)Math.Floor(q * (sorted.Length - 1))];
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void Auto_alpha_puts_the_gate_of_the_chosen_quantile_at_one_over_e(double q)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var w = randn(40, 30, dtype: float64, generator: generator).add_(3);          // away from 0, to divide by it
        var g = randn(40, 30, dtype: float64, generator: generator).mul_(1e-4);        // a mean-reduced loss's scale
        var regularizer = new RelevanceWeightDecay(new RelevanceGate { AlphaQuantile = q });

        var gate = AppliedGate(regularizer, w, g);

        var alpha = LowerQuantile(g.abs().data<double>().ToArray(), q);
        Assert.Equal(alpha, regularizer.CurrentAlpha(w), 15);
        Assert.True(MaxDifference(gate, g.abs().div(-alpha).exp()) < 1e-9);
        var atQuantile = g.abs().sub(alpha).abs().argmin().item<long>();
        Assert.Equal(Math.Exp(-1), gate.flatten()[atQuantile].item<double>(), 9);
    }

    [Fact]
    public void Auto_alpha_reads_unpruned_weights_only_and_follows_the_quantile_by_a_moving_average()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(6);
        var parameter = new Parameter(randn(50, 20, dtype: float64, generator: generator).add_(3));
        var mask = ones(50, 20, dtype: float64);
        mask.flatten().narrow(0, 0, 400).zero_();                                      // the first 400 entries are pruned
        var first = randn(50, 20, dtype: float64, generator: generator);
        first.flatten().narrow(0, 0, 400).mul_(1e3);                                    // large, and ignored because pruned
        var second = randn(50, 20, dtype: float64, generator: generator).mul_(4);
        var regularizer = new RelevanceWeightDecay(new RelevanceGate { AlphaQuantile = 0.5, AlphaSmoothing = 0.9 },
            p => p.Handle == parameter.Handle ? mask : null);

        double AliveQuantile(Tensor g) => LowerQuantile(g.abs().flatten().narrow(0, 400, 600).data<double>().ToArray(), 0.5);
        using var _ = no_grad();
        AppliedGate(regularizer, parameter, first);
        var alpha1 = AliveQuantile(first);
        Assert.Equal(alpha1, regularizer.CurrentAlpha(parameter), 12);
        var gate = AppliedGate(regularizer, parameter, second);
        var alpha2 = 0.9 * alpha1 + 0.1 * AliveQuantile(second);
        Assert.Equal(alpha2, regularizer.CurrentAlpha(parameter), 12);
        Assert.True(MaxDifference(gate, second.abs().div(-alpha2).exp()) < 1e-9);
    }

    [Fact]
    public void Running_average_signal_gates_by_the_exponential_average_of_the_gradient_magnitudes()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var w = randn(30, 10, dtype: float64, generator: generator).add_(3).requires_grad_();
        var gradients = Enumerable.Range(0, 3).Select(_ => randn(30, 10, dtype: float64, generator: generator)).ToArray();
        const double beta = 0.8, alpha = 0.7;
        var regularizer = new RelevanceWeightDecay(new RelevanceGate { Alpha = alpha, Signal = RelevanceSignal.RunningAverage, SignalDecay = beta });

        Tensor gate = null!;
        using (no_grad())
            foreach (var g in gradients) gate = AppliedGate(regularizer, w, g);

        var average = gradients[0].abs().mul(beta).add(gradients[1].abs(), alpha: 1 - beta).mul(beta).add(gradients[2].abs(), alpha: 1 - beta);
        Assert.True(MaxDifference(gate, average.div(-alpha).exp()) < 1e-12);
        // The penalty holds the same signal constant: its autograd gradient is the decay that was added.
        regularizer.Penalty(w, gradients[2], Gamma).backward();
        Assert.True(MaxDifference(w.grad!, average.div(-alpha).exp().mul(w.detach()).mul(2 * Gamma)) < 1e-12);
    }

    [Fact]
    public void Decoupled_decay_leaves_the_gradient_alone_and_multiplies_the_weights_after_the_step()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(8);
        var w = randn(20, 20, dtype: float64, generator: generator);
        var g = randn(20, 20, dtype: float64, generator: generator);
        const double eta = 0.05;
        var regularizer = new RelevanceWeightDecay(new RelevanceGate { Alpha = 0.5, Decay = DecayCoupling.Decoupled });

        var grad = g.clone();
        regularizer.AddGradient(w, grad, Gamma);
        Assert.Equal(0, MaxDifference(grad, g));
        var expected = w.mul(g.abs().div(-0.5).exp().mul(-2 * eta * Gamma).add(1));
        regularizer.Project(w, grad, Gamma, eta);
        Assert.True(MaxDifference(w, expected) < 1e-12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_decoupled_step_with_masked_out_loss_gradients_is_w_times_one_minus_2_eta_gamma_gate(bool adam)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var model = nn.Linear(6, 4, hasBias: false);
        model.to(float64);
        var before = model.weight!.detach().clone();
        var parameters = model.parameters().ToList();
        MaskableOptimizer optimizer = adam ? new AdamOptimizer(parameters, 1e-2) : new SgdOptimizer(parameters, 1e-2, momentum: 0);
        var gate = new RelevanceGate { AlphaQuantile = 0.5, Signal = RelevanceSignal.RunningAverage, Decay = DecayCoupling.Decoupled };
        using var step = new RegularizedStep(model, optimizer, new RelevanceWeightDecay(gate), parameters, masks: null,
            (output, target) => output.mul(0).sum());                                // a loss the weights do not change

        step.Run(ones(3, 6, dtype: float64), zeros(3, dtype: float64), Gamma);

        // All loss gradients are 0: the optimizer does not move, the auto α sits at its floor, and exp(−0/α) = 1.
        Assert.True(MaxDifference(model.weight!.detach(), before.mul(1 - 2 * 1e-2 * Gamma)) < 1e-15);
    }

    [Fact]
    public void One_SGD_step_matches_the_formulas_of_coupled_and_decoupled_decay_with_the_gradient_from_autograd()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(9);
        var x = randn(32, 8, dtype: float64, generator: generator);
        var y = randn(32, 3, dtype: float64, generator: generator);
        const double eta = 0.1, alpha = 0.05;

        (Tensor Before, Tensor LossGradient, Tensor After) Step(DecayCoupling decay, bool adam)
        {
            manual_seed(4);
            var model = nn.Linear(8, 3, hasBias: false);
            model.to(float64);
            var before = model.weight!.detach().clone();
            var lossGradient = autograd.grad([nn.functional.mse_loss(model.forward(x), y)], [model.weight!])[0].detach();
            var parameters = model.parameters().ToList();
            MaskableOptimizer optimizer = adam ? new AdamOptimizer(parameters, 1e-2) : new SgdOptimizer(parameters, eta, momentum: 0);
            using var step = new RegularizedStep(model, optimizer, new RelevanceWeightDecay(new RelevanceGate { Alpha = alpha, Decay = decay }),
                parameters, masks: null, (output, target) => nn.functional.mse_loss(output, target));
            step.Run(x, y, Gamma);
            return (before, lossGradient, model.weight!.detach().clone());
        }

        var (w, g, coupled) = Step(DecayCoupling.Coupled, adam: false);
        var gate = g.abs().div(-alpha).exp();
        Assert.True(MaxDifference(coupled, w.sub(g.add(gate.mul(w).mul(2 * Gamma)).mul(eta))) < 1e-12);
        var (_, _, decoupled) = Step(DecayCoupling.Decoupled, adam: false);
        Assert.True(MaxDifference(decoupled, w.sub(g.mul(eta)).mul(gate.mul(-2 * eta * Gamma).add(1))) < 1e-12);
        // Under Adam the coupled decay is divided by √v with the rest of the gradient; the decoupled one is not.
        Assert.True(MaxDifference(Step(DecayCoupling.Coupled, adam: true).After, Step(DecayCoupling.Decoupled, adam: true).After) > 1e-4);
    }

    [Fact]
    public void The_tracked_state_survives_a_checkpoint_and_the_paper_gate_keeps_none()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(10);
        var w = randn(10, 10, dtype: float64, generator: generator).add_(3);
        var parameters = new List<(string, Tensor)> { ("w", w) };
        var gate = new RelevanceGate { AlphaQuantile = 0.3, Signal = RelevanceSignal.RunningAverage, Decay = DecayCoupling.Decoupled };
        var original = new RelevanceWeightDecay(gate);
        var paper = new RelevanceWeightDecay();
        foreach (var g in Enumerable.Range(0, 3).Select(_ => randn(10, 10, dtype: float64, generator: generator)))
        {
            original.AddGradient(w, g.clone(), Gamma);
            paper.AddGradient(w, g.clone(), Gamma);
        }
        Assert.Empty(paper.SaveState(parameters));

        var resumed = new RelevanceWeightDecay(gate);
        resumed.LoadState(parameters, original.SaveState(parameters));
        var next = randn(10, 10, dtype: float64, generator: generator);
        Assert.Equal(0, MaxDifference(AppliedGateOrDecay(original, w, next), AppliedGateOrDecay(resumed, w, next)));
        Assert.Equal(original.CurrentAlpha(w), resumed.CurrentAlpha(w));
    }

    private static Tensor AppliedGateOrDecay(RelevanceWeightDecay regularizer, Tensor w, Tensor g)
    {
        var copy = w.clone();
        regularizer.AddGradient(copy, g.clone(), Gamma);
        regularizer.Project(copy, g, Gamma, 0.1);
        return copy;
    }

    [Fact]
    public void The_method_describes_only_settings_that_differ_from_the_paper()
    {
        Assert.Equal("""{"method":"relevance","gamma":0.001,"gamma_decay":true,"crop_fraction":0.08,"alpha":1}""",
            new RelevancePruning().Describe().ToJsonString());
        var calibrated = new RelevancePruning
        {
            AlphaQuantile = 0.5, AlphaSmoothing = 0.95, Signal = RelevanceSignal.RunningAverage, SignalDecay = 0.8, Decay = DecayCoupling.Decoupled,
        };
        Assert.Equal("""{"method":"relevance","gamma":0.001,"gamma_decay":true,"crop_fraction":0.08,"alpha":1,"alpha_quantile":0.5,"alpha_smoothing":0.95,"signal":"running_average","signal_decay":0.8,"decay":"decoupled"}""",
            calibrated.Describe().ToJsonString());
        Assert.Equal(calibrated.Gate, new RelevanceGate
        {
            AlphaQuantile = 0.5, AlphaSmoothing = 0.95, Signal = RelevanceSignal.RunningAverage, SignalDecay = 0.8, Decay = DecayCoupling.Decoupled,
        });
    }

    [Theory]
    [InlineData("AlphaQuantile", "RelevancePruning.AlphaQuantile: must lie in (0, 1], got 1.5")]
    [InlineData("AlphaSmoothing", "RelevancePruning.AlphaSmoothing: must lie in [0, 1), got 1")]
    [InlineData("SignalDecay", "RelevancePruning.SignalDecay: must lie in [0, 1), got -0.1")]
    [InlineData("Decay", "RelevancePruning.Decay: unknown coupling 7")]
    public void Out_of_range_settings_are_refused_by_name(string property, string message)
    {
        var method = property switch
        {
            "AlphaQuantile" => new RelevancePruning { AlphaQuantile = 1.5 },
            "AlphaSmoothing" => new RelevancePruning { AlphaSmoothing = 1 },
            "SignalDecay" => new RelevancePruning { SignalDecay = -0.1 },
            _ => new RelevancePruning { Decay = (DecayCoupling)7 },
        };
        var error = Assert.Throws<PruningMethodException>(method.Validate);
        Assert.Equal(property, error.Property);
        Assert.Equal(message, error.Message);
    }
}
