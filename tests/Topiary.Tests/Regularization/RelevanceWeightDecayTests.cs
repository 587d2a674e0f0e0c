using TorchSharp;
using Topiary.Models;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Regularization;

public class RelevanceWeightDecayTests
{
    [Theory]
    [InlineData(1.0, 1e-3)]
    [InlineData(0.05, 0.7)]
    [InlineData(3.0, 2.0)]
    public void Added_gradient_equals_autograd_of_the_penalty_with_the_gradient_held_constant(double alpha, double gamma)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        var w = randn(40, 30, dtype: float64, generator: generator).requires_grad_();
        var g = randn(40, 30, dtype: float64, generator: generator).mul(0.5);
        var regularizer = new RelevanceWeightDecay(alpha);

        regularizer.Penalty(w, g, gamma).backward();
        var autograd = w.grad!.clone();
        var fused = g.clone();
        regularizer.AddGradient(w, fused, gamma);                       // g + ∂R/∂w, gated by g itself
        var formula = g.abs().div(-alpha).exp().mul(w.detach()).mul(2 * gamma);
        fused.sub_(g);

        Assert.True(MaxRelativeDifference(autograd, formula) < 1e-12, $"autograd differs by {MaxRelativeDifference(autograd, formula)}");
        Assert.True(MaxRelativeDifference(fused, formula) < 1e-12, $"fused differs by {MaxRelativeDifference(fused, formula)}");
    }

    private static double MaxRelativeDifference(Tensor a, Tensor b) =>
        a.sub(b).abs().max().item<double>() / Math.Max(b.abs().max().item<double>(), 1e-300);

    [Fact]
    public void AddGradient_gates_by_the_gradient_it_is_given_before_changing_it()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new[] { 2.0, 2.0, 2.0 }, dtype: float64);
        var g = tensor(new[] { 0.0, 1.0, 10.0 }, dtype: float64);
        new RelevanceWeightDecay(1.0).AddGradient(w, g, 0.5);
        // g + 2γ·exp(−|g|/α)·w with γ = 0.5, w = 2
        var expected = new[] { 0.0 + 2.0, 1.0 + 2.0 * Math.Exp(-1), 10.0 + 2.0 * Math.Exp(-10) };
        Assert.Equal(expected, g.data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void As_alpha_grows_it_becomes_plain_L2()
    {
        using var scope = NewDisposeScope();
        var w = randn(100, dtype: float64);
        var g = randn(100, dtype: float64);
        var relevance = g.clone();
        var l2 = g.clone();
        new RelevanceWeightDecay(1e12).AddGradient(w, relevance, 0.3);
        new L2WeightDecay().AddGradient(w, l2, 0.3);
        Assert.True(MaxRelativeDifference(relevance, l2) < 1e-9);
        var sharp = g.clone();
        new RelevanceWeightDecay(0.1).AddGradient(w, sharp, 0.3);
        Assert.True(MaxRelativeDifference(sharp, l2) > 1e-2);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void One_backward_pass_gives_the_same_update_as_the_authors_two_passes_on_LeNet5(string optimizerName)
    {
        var options = OptimizerOptions.Named(optimizerName, optimizerName == "sgd" ? 0.05 : 1e-3);
        var generator = new Generator(8);
        // float64, so that the comparison measures the formulations and not float32 rounding amplified by Adam's ε.
        var images = randn(64, 1, 28, 28, dtype: float64, generator: generator);
        var labels = randint(0, 10, new long[] { 64 }, generator: generator);

        Dictionary<string, Tensor> Train(bool twoPass)
        {
            manual_seed(21);
            var model = new LeNet5();
            model.to(float64);
            using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
            GlobalMagnitudePruner.PruneFraction(masks, 0.3);
            var optimizer = options.Create(model.parameters());
            var regularized = model.parameters().ToList();
            var step = new RegularizedStep(model, optimizer, new RelevanceWeightDecay(1.0), regularized, masks);
            var twoPassStep = new TwoPassStep(model, optimizer, new RelevanceWeightDecay(1.0), regularized, masks);
            for (var i = 0; i < 3; i++)
            {
                if (twoPass) twoPassStep.Run(images, labels, 5e-2);
                else step.Run(images, labels, 5e-2);
            }
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        }

        var fused = Train(twoPass: false);
        var twoPasses = Train(twoPass: true);
        foreach (var (name, value) in fused)
        {
            var difference = value.sub(twoPasses[name]).abs().max().item<double>();
            Assert.True(difference <= 1e-6, $"{name} differs by {difference}");
        }
    }

    [Fact]
    public void On_a_sparse_regression_it_shrinks_irrelevant_weights_while_L2_shrinks_all_alike()
    {
        // y = 3·x0 − 2·x1 + 1.5·x2 + noise; the 17 other inputs are irrelevant.
        var generator = new Generator(12);
        var x = randn(5000, 20, generator: generator);
        var truth = zeros(20, 1);
        truth[0, 0] = 3; truth[1, 0] = -2; truth[2, 0] = 1.5;
        var y = x.matmul(truth).add(randn(5000, 1, generator: generator).mul(0.5));

        Tensor Fit(GradientRegularizer regularizer, double gamma)
        {
            manual_seed(1);
            var model = nn.Linear(20, 1, hasBias: false);
            using (no_grad()) model.weight!.zero_();
            var optimizer = new SgdOptimizer(model.parameters(), 0.02, momentum: 0);
            var step = new RegularizedStep(model, optimizer, regularizer, model.parameters().ToList(), masks: null,
                (output, target) => nn.functional.mse_loss(output, target));
            for (var i = 0; i < 2000; i++) step.Run(x, y, gamma);
            return model.weight!.detach().flatten().abs();
        }

        var plain = Fit(new NoRegularization(), 0);
        var relevance = Fit(new RelevanceWeightDecay(alpha: 0.05), 20);
        var l2 = Fit(new L2WeightDecay(), 20);

        static (double Relevant, double Irrelevant) Shrink(Tensor fitted, Tensor reference) =>
            (fitted.narrow(0, 0, 3).sum().item<float>() / reference.narrow(0, 0, 3).sum().item<float>(),
             fitted.narrow(0, 3, 17).sum().item<float>() / reference.narrow(0, 3, 17).sum().item<float>());

        var (relevanceKept, relevanceIrrelevantKept) = Shrink(relevance, plain);
        var (l2Kept, l2IrrelevantKept) = Shrink(l2, plain);
        Assert.True(relevance.narrow(0, 0, 3).min().item<float>() >= 10 * relevance.narrow(0, 3, 17).max().item<float>(),
            $"relevant weights {string.Join(",", relevance.narrow(0, 0, 3).data<float>().ToArray())} should be ≥10× the irrelevant ones {relevance.narrow(0, 3, 17).max().item<float>()}");
        Assert.True(relevanceKept / relevanceIrrelevantKept >= 10,
            $"relevance decay kept {relevanceKept:F3} of the relevant and {relevanceIrrelevantKept:F3} of the irrelevant weights");
        Assert.True(l2Kept / l2IrrelevantKept < 2, $"L2 kept {l2Kept:F3} of the relevant and {l2IrrelevantKept:F3} of the irrelevant weights: it should not discriminate");
        Assert.True(relevanceKept > 0.9, $"relevance decay should leave relevant weights nearly intact, kept {relevanceKept:F3}");
    }
}
