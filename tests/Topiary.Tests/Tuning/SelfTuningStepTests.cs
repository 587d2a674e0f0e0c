using TorchSharp;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Tuning;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

public class SelfTuningStepTests
{
    private static bool Same(Tensor a, Tensor b) => a.equal(b).all().item<bool>();

    private static double RelativeDifference(Tensor a, Tensor b) =>
        a.sub(b).abs().max().item<double>() / b.abs().max().item<double>();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_gradients_of_W_e_W_h_and_v_are_autograd_s_through_the_best_response(bool relevance)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var generator = new Generator(4);
        var model = nn.Linear(3, 2, dtype: float64);
        var parameters = model.parameters().ToList();   // weight, bias
        var x = randn(8, 3, dtype: float64, generator: generator);
        var y = randn(8, 2, dtype: float64, generator: generator);
        var closure = ObjectiveClosure.Of(parameters, () => nn.functional.mse_loss(model.forward(x), y));
        using var tuner = new SelfTuningTuner(perturbationScale: 0.3, seed: 4);
        const double alpha = 0.05;
        var step = tuner.Wrap(relevance ? new RelevanceWeightDecay(alpha) : new L2WeightDecay());
        step.ComputeGradients(closure, 0.3);   // makes W_h and v
        var weights = tuner.BestResponse!;
        Assert.Same(parameters[0], Assert.Single(weights.Targets));   // the bias is 1-D: W_e only
        using (no_grad())
        {
            weights.Hidden[0].copy_(randn(2, 3, dtype: float64, generator: generator));
            weights.Gates[0].copy_(randn(2, dtype: float64, generator: generator));
        }
        var values = new[] { parameters[0], parameters[1], weights.Hidden[0], weights.Gates[0] }.Select(t => t.detach().clone()).ToList();

        const double strength = 0.3;
        step.ComputeGradients(closure, strength);
        var offset = tuner.LastSample - tuner.LogMultiplier;
        Assert.NotEqual(0, offset);

        // f = L(Ŵ) + λ̃·(R(Ŵ) + R(b)), Ŵ = W_e + (ψ̃ − ψ)·diag(v)·W_h, λ̃ = e^{ψ̃−ψ}·λ; the regularizer applies to the bias
        // too. R = Σw² (L2), or Σ exp(−|g|/α)·w² with g the data-loss gradient at Ŵ(ψ̃) held constant (the relevance gate
        // must see the perturbed weights' gradient).
        Tensor Best(IReadOnlyList<Tensor> t) => t[0].add(t[3].unsqueeze(1).mul(t[2]).mul(offset));
        var at = new[] { Best(values).requires_grad_(), values[1].clone().requires_grad_() };
        var lossGradients = autograd.grad([nn.functional.mse_loss(x.matmul(at[0].t()).add(at[1]), y)], at);
        Tensor R(Tensor w, Tensor g) => relevance ? g.abs().div(-alpha).exp().mul(w.square()).sum() : w.square().sum();
        var leaves = values.Select(t => t.clone().requires_grad_()).ToList();
        var best = Best(leaves);
        var objective = nn.functional.mse_loss(x.matmul(best.t()).add(leaves[1]), y)
            .add(R(best, lossGradients[0]).add(R(leaves[1], lossGradients[1])).mul(strength * Math.Exp(offset)));
        var expected = autograd.grad([objective], leaves);
        var actual = new[] { parameters[0].grad!, parameters[1].grad!, weights.Hidden[0].grad!, weights.Gates[0].grad! };
        var names = new[] { "W_e", "bias", "W_h", "v" };
        for (var i = 0; i < 4; i++)
        {
            var error = RelativeDifference(actual[i], expected[i]);
            Assert.True(error < 1e-12, $"∂f/∂{names[i]} differs from autograd by {error}");
        }
        Assert.True(Same(parameters[0].detach(), values[0]) && Same(parameters[1].detach(), values[1]), "W_e restored bit-exactly");
    }

    [Fact]
    public void The_best_response_scales_the_output_units_of_a_convolution_kernel()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var kernel = new TorchSharp.Modules.Parameter(randn(3, 2, 2, 2, dtype: float64, generator: generator));
        using var weights = new BestResponseWeights([kernel], 1e-3);
        Assert.True(Same(weights.Value(0, 0.7, null), kernel.detach()), "W_h = 0 and v = 1 at the start: Ŵ = W_e");
        using (no_grad())
        {
            weights.Hidden[0].copy_(randn(3, 2, 2, 2, dtype: float64, generator: generator));
            weights.Gates[0].copy_(randn(3, dtype: float64, generator: generator));
        }
        var g = randn(3, 2, 2, 2, dtype: float64, generator: generator);
        const double offset = -0.4;
        var hidden = weights.Hidden[0].detach().clone().requires_grad_();
        var gate = weights.Gates[0].detach().clone().requires_grad_();
        var best = kernel.detach().add(gate.reshape(3, 1, 1, 1).mul(hidden).mul(offset));
        Assert.True(RelativeDifference(weights.Value(0, offset, null), best.detach()) < 1e-15);
        var expected = autograd.grad([best.mul(g).sum()], [hidden, gate]);   // ∂⟨G, Ŵ⟩ = the chain rule for total gradient G
        var (dHidden, dGate) = weights.Gradients(0, g, offset);
        Assert.True(RelativeDifference(dHidden, expected[0]) < 1e-14 && RelativeDifference(dGate, expected[1]) < 1e-14);
        Assert.Equal(g.mul(gate.detach().reshape(3, 1, 1, 1).mul(hidden.detach())).sum().item<double>(), weights.Hypergradient([g]), 12);
    }

    [Fact]
    public void Pruned_entries_stay_exactly_zero_in_every_pass_and_the_weights_are_restored_bit_exactly()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var generator = new Generator(5);
        var model = nn.Linear(4, 3, dtype: float64);
        var parameters = model.parameters().ToList();
        var weight = parameters[0];
        var x = randn(16, 4, dtype: float64, generator: generator);
        var y = randn(16, 3, dtype: float64, generator: generator);
        using var masks = new PruningMasks([("weight", weight)]);
        var seen = new List<Tensor>();
        using var tuner = new SelfTuningTuner(perturbationScale: 0.5, bestResponseLearningRate: 0.05, seed: 5);
        var wrapper = tuner.Wrap(new L2WeightDecay());
        using var optimizer = new AdamOptimizer(parameters, 0.01);
        using var step = new RegularizedStep(model, optimizer, wrapper, [weight], masks, (output, target) =>
        {
            seen.Add(weight.detach().clone().DetachFromDisposeScope());   // the weights of the forward pass: Ŵ(ψ̃)
            return nn.functional.mse_loss(output, target);
        });
        for (var k = 0; k < 20; k++) step.Run(x, y, 0.1);

        var keep = ones(3, 4, dtype: float64);
        keep[1] = zeros(4, dtype: float64);
        keep[0, 1] = tensor(0.0, float64);
        keep[2, 3] = tensor(0.0, float64);
        var pruned = keep.eq(0);
        Assert.True(tuner.BestResponse!.Hidden[0].detach().masked_select(pruned).abs().min().item<double>() > 0, "the pruned entries had a response");
        masks.Entries[0].Mask.copy_(keep);
        masks.ApplyToWeights();
        optimizer.MaskState(weight, keep);

        seen.Clear();
        var perturbed = 0;
        for (var k = 0; k < 20; k++)
        {
            var before = weight.detach().clone();
            step.Run(x, y, 0.1);
            Assert.Equal(0, seen[k].masked_select(pruned).abs().max().item<double>());
            if (!Same(seen[k], before)) perturbed++;
            Assert.Equal(0, weight.detach().masked_select(pruned).abs().max().item<double>());
        }
        Assert.Equal(20, perturbed);
        Assert.Equal(0, tuner.BestResponse.Hidden[0].detach().masked_select(pruned).abs().max().item<double>());
        Assert.Equal(0, tuner.Slope(weight)!.masked_select(pruned).abs().max().item<double>());

        var closure = new ObjectiveClosure(parameters, () => { var l = nn.functional.mse_loss(model.forward(x), y); return (l, l); },
            () => { foreach (var p in parameters) p.grad?.zero_(); }, masks.ApplyToGradients, masks.MaskOf);
        var saved = parameters.Select(p => p.detach().clone()).ToList();
        wrapper.ComputeGradients(closure, 0.1);
        Assert.True(parameters.Select((p, i) => Same(p.detach(), saved[i])).All(s => s), "ComputeGradients restores W_e bit-exactly");
        Assert.Equal(0, weight.grad!.masked_select(pruned).abs().max().item<double>());
    }

    [Fact]
    public void Saved_state_loaded_before_the_first_step_resumes_the_same_run()
    {
        using var scope = NewDisposeScope();
        using var first = SelfTuningRidge.Generated(6);
        using var second = SelfTuningRidge.Generated(6);
        using var a = new SelfTuningTuner(bestResponseLearningRate: 0.01, seed: 6);
        first.Train(a, 0.3, steps: 30);
        a.Update(first.Problem(0.3));
        Assert.NotEqual(0, a.LogMultiplier);
        var state = a.SaveState();

        second.SetWeight(first.Weight.detach());
        using var b = new SelfTuningTuner(bestResponseLearningRate: 0.01, seed: 6);
        b.LoadState(state);
        Assert.Equal(a.LogMultiplier, b.LogMultiplier);
        var pending = b.SaveState();
        Assert.Equal(state.Keys.Order(), pending.Keys.Order());

        first.Train(a, 0.3, steps: 5);
        second.Train(b, 0.3, steps: 5);
        Assert.Equal(a.LastSample, b.LastSample);
        Assert.True(Same(first.Weight.detach(), second.Weight.detach()), "the model weights continue identically");
        Assert.True(Same(a.Slope(first.Weight)!, b.Slope(second.Weight)!), "W_h and v continue identically");
        var (stateA, stateB) = (a.SaveState(), b.SaveState());
        Assert.All(stateA, pair => Assert.True(Same(pair.Value, stateB[pair.Key]), pair.Key));

        using var other = SelfTuningRidge.Generated(6, d: 5);
        using var c = new SelfTuningTuner(seed: 6);
        c.LoadState(state);
        var error = Assert.Throws<ArgumentException>(() => other.Train(c, 0.3, steps: 1));
        Assert.Contains("stn.0.hidden", error.Message);
    }

    [Fact]
    public void A_regularizer_that_replaces_the_backward_pass_is_refused_by_name_and_the_rest_is_forwarded()
    {
        using var scope = NewDisposeScope();
        using var tuner = new SelfTuningTuner();
        Assert.Contains("'sam'", Assert.Throws<ArgumentException>(() => tuner.Wrap(new SharpnessAwareMinimization())).Message);
        var composite = new CompositeRegularizer([new RegularizerTerm(new L2WeightDecay(), 1), new RegularizerTerm(new AdversarialModelPerturbation(), 1)]);
        Assert.Contains("'l2+amp'", Assert.Throws<ArgumentException>(() => tuner.Wrap(composite)).Message);

        var inner = new L2WeightDecay();
        var wrapper = Assert.IsType<SelfTuningStep>(tuner.Wrap(inner));
        Assert.Same(inner, wrapper.Inner);
        Assert.Equal("l2", wrapper.Name);
        Assert.True(wrapper.ReplacesBackward);
        var w = randn(3, 2, dtype: float64);
        var grad = randn(3, 2, dtype: float64);
        var copy = grad.clone();
        wrapper.AddGradient(w, grad, 0.5);
        Assert.True(Same(grad, copy), "AddGradient adds nothing: ComputeGradients already did");
        Assert.Equal(inner.Penalty(w, grad, 0.5).item<double>(), wrapper.Penalty(w, grad, 0.5).item<double>());
    }
}
