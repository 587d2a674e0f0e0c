using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class HyperSparseTests
{
    [Fact]
    public void The_closed_form_gradient_matches_autograd_of_the_formula()
    {
        manual_seed(71);
        var a = randn(30, 20, dtype: float64).mul(0.1).requires_grad_();
        var b = randn(10, 30, dtype: float64).mul(0.3).requires_grad_();
        var weights = new List<Tensor> { a, b };
        var value = HyperSparsePenalty.Value(weights, 0.9);
        Assert.True(Math.Abs(value.item<double>()) < 1e-9, "HS(w) is zero by construction");
        value.backward();

        var penalty = new HyperSparsePenalty(weights, 0.9);
        foreach (var w in weights)
        {
            var g = zeros_like(w);
            penalty.AddGradient(w, g, strength: 1);
            var relative = g.sub(w.grad!).abs().max().item<double>() / w.grad!.abs().max().item<double>();
            Assert.True(relative < 1e-9, $"relative error {relative}");
        }
    }

    [Fact]
    public void Small_weights_are_pushed_harder_than_large_ones()
    {
        var w = tensor(new float[] { 0.001f, 0.01f, 0.1f, 1, 2, 3, 4, 5, 6, 7 });
        var penalty = new HyperSparsePenalty(new[] { w }, 0.5);
        var g = zeros_like(w);
        penalty.AddGradient(w, g, 1);
        var values = g.data<float>().ToArray();
        for (var i = 1; i < values.Length; i++) Assert.True(values[i] <= values[i - 1], $"gradient increasing at {i}");
        // s = 0.6585/3 puts the largest weight (7) at sech²(1.54) ≈ 0.17 of the smallest one's push.
        Assert.True(values[0] > 5 * values[^1]);
    }
}
