using TorchSharp;
using TorchSharp.Modules;
using Topiary.Analysis;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class GradientNormComplexityTests
{
    private static Tensor CrossEntropy(Tensor output, Tensor target) => nn.functional.cross_entropy(output, target);

    private static (Linear Model, Tensor X, Tensor Y) Softmax_regression(int seed)
    {
        manual_seed(seed);
        var model = nn.Linear(4, 3);
        model.to(float64);
        var x = randn(12, 4, dtype: float64, generator: new Generator((ulong)seed));
        var y = randint(0, 3, [12], dtype: int64, generator: new Generator((ulong)seed + 1));
        return (model, x, y);
    }

    [Fact]
    public void It_equals_the_closed_form_of_softmax_regression_and_exceeds_the_full_batch_gradient_norm()
    {
        using var scope = NewDisposeScope();
        var (model, x, y) = Softmax_regression(1);
        // Per sample, ∇_W = (p − e_y)xᵀ and ∇_b = p − e_y: ‖∇‖² = ‖p − e_y‖²·(‖x‖² + 1).
        Tensor residual;
        using (no_grad()) residual = nn.functional.softmax(model.forward(x), 1).sub(nn.functional.one_hot(y, 3).to(float64));
        var expected = residual.square().sum(1).mul(x.square().sum(1).add(1)).mean().item<double>();
        var measure = GradientNormComplexity.Measure(model, x, y, CrossEntropy);
        Assert.Equal(expected, measure.MeanSquaredNorm, 10);
        Assert.Equal(15L, measure.Parameters);
        var meanW = residual.t().matmul(x).div(12);
        var meanB = residual.mean([0]);
        Assert.Equal(meanW.square().sum().item<double>() + meanB.square().sum().item<double>(), measure.SquaredNormOfMean, 10);
        Assert.True(measure.SquaredNormOfMean < measure.MeanSquaredNorm);
        Assert.Null(model.weight!.grad);
    }

    [Fact]
    public void It_scales_quadratically_with_the_loss_vanishes_with_it_and_leaves_out_pruned_weights()
    {
        using var scope = NewDisposeScope();
        var (model, x, y) = Softmax_regression(2);
        var plain = GradientNormComplexity.Measure(model, x, y, CrossEntropy).MeanSquaredNorm;
        Assert.Equal(9 * plain, GradientNormComplexity.Measure(model, x, y, (o, t) => CrossEntropy(o, t).mul(3)).MeanSquaredNorm, 9);
        Assert.Equal(0, GradientNormComplexity.Measure(model, x, y, (o, t) => CrossEntropy(o, t).mul(0)).MeanSquaredNorm);
        // A mask on the weight: only its kept entries and the bias count.
        var mask = zeros(3, 4, dtype: float64);
        mask[0, 1] = 1;
        mask[2, 3] = 1;
        var parameters = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var masked = GradientNormComplexity.Measure(model, x, y, CrossEntropy, parameters, new Dictionary<string, Tensor> { ["weight"] = mask });
        Tensor residual;
        using (no_grad()) residual = nn.functional.softmax(model.forward(x), 1).sub(nn.functional.one_hot(y, 3).to(float64));
        var expected = residual[.., 0].mul(x[.., 1]).square().add(residual[.., 2].mul(x[.., 3]).square()).add(residual.square().sum(1)).mean().item<double>();
        Assert.Equal(expected, masked.MeanSquaredNorm, 10);
        Assert.Equal(5L, masked.Parameters);
    }
}
