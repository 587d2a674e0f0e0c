using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class LobsterTests
{
    /// <summary>
    /// A linear regression whose true weights are spread over magnitudes (a few large, many tiny): the loss of
    /// thresholding depends on the data, not only on |w|.
    /// </summary>
    private static (nn.Module<Tensor, Tensor> Model, Func<double> Loss) Problem()
    {
        manual_seed(61);
        var layer = nn.Linear(200, 1, hasBias: false);
        var truth = randn(1, 200).mul(logspace(-3, 0, 200).unsqueeze(0));
        using (no_grad()) layer.weight!.copy_(truth);
        var x = randn(2000, 200);
        var y = x.matmul(truth.t());
        return (layer, () =>
        {
            using var _ = no_grad();
            return nn.functional.mse_loss(layer.forward(x), y).add(1e-3).item<float>();
        });
    }

    [Fact]
    public void The_bisection_keeps_the_loss_within_twt_and_removes_more_than_a_naive_threshold()
    {
        var (model, loss) = Problem();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var magnitudes = model.parameters().First().detach().abs().clone();
        var before = loss();
        var found = ThresholdBisection.Search(masks, loss, tolerance: 0.05, maxTrials: 30);
        Assert.Equal(200, masks.Remaining);   // the search leaves the model as it was
        Assert.Equal(before, loss(), 9);

        // Naive fixed thresholds T = c·std(w) (Han et al. 2015's rule) on a grid of c: the best one that keeps
        // the loss within twt removes fewer weights than the loss-aware search.
        var std = model.parameters().First().detach().std().item<float>();
        long bestNaive = 0;
        foreach (var c in new[] { 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0 })
        {
            var count = magnitudes.lt(c * std).sum().item<long>();
            using var trial = new MaskedWeightsBackup(masks);
            Prune.Unstructured(masks, PruningAmount.OfCount(count));
            if (loss() <= 1.05 * before) bestNaive = Math.Max(bestNaive, count);
            trial.Restore();
        }

        Prune.Unstructured(masks, PruningAmount.OfCount(found.Count));
        Assert.True(loss() <= 1.05 * before + 1e-12, $"loss {loss()} above the bound {1.05 * before}");
        Assert.True(found.Count > bestNaive, $"bisection removed {found.Count}, the best feasible fixed threshold {bestNaive}");
        Assert.True(magnitudes.masked_select(masks.Entries[0].Mask.eq(0)).max().item<float>() <= found.Threshold + 1e-12);
    }

    [Fact]
    public void The_shrinkage_is_lambda_w_times_the_insensitivity_and_spares_sensitive_weights()
    {
        var w = tensor(new float[] { 1, -2, 3, 4 });
        var g = tensor(new float[] { 0, 0.5f, 1, -3 });
        new LobsterShrinkage().Project(w, g, strength: 0.1, stepSize: 0.5);
        // w − λ·w·max(0, 1 − |g|): factors 1, 0.5, 0, 0.
        Assert.Equal(new float[] { 0.9f, -1.9f, 3, 4 }, w.data<float>().ToArray());
    }
}
