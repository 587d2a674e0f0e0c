using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class RationaleInvarianceLossTests
{
    private static readonly Tensor Head = tensor(new[,] { { 2.0 }, { 3.0 } });

    [Fact]
    public void It_is_zero_when_every_example_of_a_class_has_the_same_features()
    {
        using var scope = NewDisposeScope();
        var loss = new RationaleInvarianceLoss();
        var features = randn(3, 4, dtype: float64, generator: new Generator(1));
        var labels = tensor(new long[] { 0, 2, 0, 1, 2, 2 });
        var weight = randn(3, 4, dtype: float64, generator: new Generator(2));
        Assert.Equal(0.0, loss.Loss(features.index_select(0, labels), labels, weight).item<double>(), 12);
    }

    [Fact]
    public void It_matches_a_hand_computation_and_the_running_means_follow_the_momentum()
    {
        using var scope = NewDisposeScope();
        var loss = new RationaleInvarianceLoss(momentum: 0.25);
        // Class 0 at h = 1, 3: rationales (2, 3), (6, 9), mean (4, 6); each is ‖(2, 3)‖² = 13 away; (13 + 13)/(2·C) = 6.5.
        var first = loss.Loss(tensor(new[,] { { 1.0 }, { 3.0 }, { 5.0 } }), tensor(new long[] { 0, 0, 1 }), Head);
        Assert.Equal(6.5, first.item<double>(), 12);
        Assert.Equal(new[] { 4.0, 6.0, 10.0, 15.0 }, loss.Means!.flatten().data<double>().ToArray());

        // Class 0 now at h = 5 (rationale (10, 15)): M₀ = 0.75·(4, 6) + 0.25·(10, 15) = (5.5, 8.25); class 1 is absent and kept.
        var second = loss.Loss(tensor(new[,] { { 5.0 } }), tensor(new long[] { 0 }), Head);
        Assert.Equal(new[] { 5.5, 8.25, 10.0, 15.0 }, loss.Means!.flatten().data<double>().ToArray());
        Assert.Equal((4.5 * 4.5 + 6.75 * 6.75) / 2, second.item<double>(), 12);
    }

    [Fact]
    public void Its_gradient_in_features_and_head_is_the_closed_form_with_the_means_held_constant()
    {
        using var scope = NewDisposeScope();
        var loss = new RationaleInvarianceLoss(momentum: 0.5);
        var labels = tensor(new long[] { 0, 1, 0, 2, 1, 0 });
        var weight = randn(3, 4, dtype: float64, generator: new Generator(4)).requires_grad_();
        loss.Loss(randn(6, 4, dtype: float64, generator: new Generator(5)), labels, weight.detach());
        var features = randn(6, 4, dtype: float64, generator: new Generator(6)).requires_grad_();
        loss.Loss(features, labels, weight).backward();

        var means = loss.Means!.index_select(0, labels);
        var counts = tensor(new[] { 3.0, 2.0, 3.0, 1.0, 2.0, 3.0 }).view(6, 1, 1);
        var residual = features.detach().unsqueeze(1).mul(weight.detach()).sub(means).mul(2.0 / 3).div(counts);
        var expectedFeatures = residual.mul(weight.detach()).sum(1);
        Assert.True(features.grad!.sub(expectedFeatures).abs().max().item<double>() < 1e-12);
        // sum(new long[] { 0 }): a literal 0 would bind to sum(ScalarType) and cast to bytes.
        var expectedWeight = residual.mul(features.detach().unsqueeze(1)).sum(new long[] { 0 });
        Assert.True(weight.grad!.sub(expectedWeight).abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void The_running_means_survive_a_state_round_trip()
    {
        using var scope = NewDisposeScope();
        var saved = new RationaleInvarianceLoss(momentum: 0.3);
        var weight = randn(3, 4, dtype: float64, generator: new Generator(7));
        saved.Loss(randn(5, 4, dtype: float64, generator: new Generator(8)), tensor(new long[] { 0, 1, 1, 0, 2 }), weight);
        var restored = new RationaleInvarianceLoss(momentum: 0.3);
        restored.LoadState([], saved.SaveState([]));
        var features = randn(4, 4, dtype: float64, generator: new Generator(9));
        var labels = tensor(new long[] { 2, 0, 1, 1 });
        Assert.Equal(saved.Loss(features, labels, weight).item<double>(), restored.Loss(features, labels, weight).item<double>(), 15);
        Assert.Throws<ArgumentException>(() => restored.LoadState([], new Dictionary<string, Tensor> { ["other"] = zeros(1) }));
    }

    [Fact]
    public void Bad_momentum_and_labels_outside_the_head_are_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => RegularizerLibrary.Find("ridg")!.Create(new Dictionary<string, double> { ["momentum"] = 2 }));
        Assert.Equal("momentum", error.ParamName);
        Assert.Throws<ArgumentException>(() => new RationaleInvarianceLoss().Loss(zeros(2, 1, dtype: float64), tensor(new long[] { 0, 2 }), Head));
    }
}
