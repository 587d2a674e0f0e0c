using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class VanishingGradientTests
{
    private static Tensor PenaltyOf(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        var outputs = model.call(inputs);
        recorder.Stop();
        var loss = nn.functional.cross_entropy(outputs, targets);
        var context = new RegularizationContext(model, inputs, targets, outputs, recorder.Activations) { DataLoss = loss };
        return new VanishingGradientRegularizer().LossPenalty(context, 1.0)!.detach().clone();
    }

    [Theory]
    [InlineData(1.0, 1.0, 0.0)]
    [InlineData(2.0, 1.0, 1.0)]
    [InlineData(0.5, 3.0, 4.25)]
    public void Through_scaled_orthonormal_linear_layers_the_penalty_is_the_sum_of_squared_scale_errors(double c2, double c3, double expected)
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 4), nn.Linear(4, 3));
        model.to(float64);
        using (no_grad())
        {
            var layers = model.children().Cast<TorchSharp.Modules.Linear>().ToList();
            layers[0].weight!.copy_(randn(4, 5, dtype: float64, generator: new Generator(1)));
            layers[1].weight!.copy_(Check.Orthonormal(4, 4, 2).mul(c2));   // ‖δᵀ·c·Q‖ = c‖δ‖
            layers[2].weight!.copy_(Check.Orthonormal(3, 4, 3).mul(c3));   // orthonormal rows: ‖δᵀW‖ = c‖δ‖ for δ ∈ ℝ³
        }
        var inputs = randn(6, 5, dtype: float64, generator: new Generator(4));
        var targets = randint(0, 3, new long[] { 6 }, generator: new Generator(5));
        Assert.Equal(expected, PenaltyOf(model, inputs, targets).item<double>(), 10);
    }

    [Fact]
    public void In_a_step_the_gradient_is_autograd_of_the_loss_plus_pascanus_formula_with_the_deltas_held_constant()
    {
        using var scope = NewDisposeScope();
        var inputs = randn(7, 5, dtype: float64, generator: new Generator(1));
        var targets = randint(0, 3, new long[] { 7 }, generator: new Generator(2));
        manual_seed(3);
        var model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 3));
        model.to(float64);
        var p = model.parameters().ToList();

        // Reference, written out: x1 = tanh(W1x), x2 = tanh(W2x1), out = W3x2; δ's = ∂E/∂x at these weights, constants.
        var x1 = nn.functional.linear(inputs, p[0], p[1]).tanh();
        var x2 = nn.functional.linear(x1, p[2], p[3]).tanh();
        var output = nn.functional.linear(x2, p[4], p[5]);
        var loss = nn.functional.cross_entropy(output, targets);
        var deltas = torch.autograd.grad(new[] { loss }, new[] { x2, output }, retain_graph: true).Select(d => d.detach()).ToList();
        var pulled1 = deltas[0].mul(x2.square().neg().add(1)).matmul(p[2]);   // δ2ᵀ·diag(1 − x2²)·W2
        var pulled2 = deltas[1].matmul(p[4]);                                  // δoutᵀ·W3
        Tensor Term(Tensor v, Tensor d) => v.norm(1).div(d.norm(1)).sub(1).square().mean();
        var reference = loss.add(Term(pulled1, deltas[0]).add(Term(pulled2, deltas[1])).mul(0.4));
        var lossOnly = torch.autograd.grad(new[] { loss }, new[] { (Tensor)p[0] }, retain_graph: true)[0].detach().clone();
        var expected = torch.autograd.grad(new[] { reference }, p.Cast<Tensor>().ToList()).Select(g => g.detach().clone()).ToList();

        var applied = Check.AppliedGradients(model, new VanishingGradientRegularizer(), inputs, targets, 0.4);
        for (var i = 0; i < p.Count; i++)
            Assert.True(Check.MaxRelativeDifference(applied[i], expected[i]) < 1e-10, $"parameter {i}");
        Assert.True(Check.MaxRelativeDifference(lossOnly, expected[0]) > 1e-3, "the penalty must change the first layer's gradient, or this test would not test it");
    }
}
