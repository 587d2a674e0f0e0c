using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class LeastVolumeTests
{
    [Fact]
    public void The_volume_is_the_geometric_mean_of_the_shifted_standard_deviations()
    {
        using var scope = NewDisposeScope();
        var z = randn(9, 5, dtype: float64, generator: new Generator(1)).mul(tensor(new[] { 0.1, 1, 3, 0.01, 2 }, dtype: float64));
        var rows = z.data<double>().ToArray();
        var product = 1.0;
        for (var i = 0; i < 5; i++)
        {
            var column = Enumerable.Range(0, 9).Select(b => rows[b * 5 + i]).ToArray();
            var mean = column.Average();
            product *= Math.Sqrt(column.Sum(v => (v - mean) * (v - mean)) / 8) + 0.5;
        }
        Assert.Equal(Math.Pow(product, 1.0 / 5), LeastVolume.Volume(z, 0.5).item<double>(), 12);
    }

    [Fact]
    public void Its_gradient_is_the_volume_over_m_times_sigma_plus_eta_along_each_standard_deviation()
    {
        using var scope = NewDisposeScope();
        const double eta = 0.3;
        var z = randn(6, 4, dtype: float64, generator: new Generator(2)).requires_grad_();
        var volume = LeastVolume.Volume(z, eta);
        volume.backward();
        var detached = z.detach();
        var sigma = detached.std(0);
        var expected = detached.sub(detached.mean([0])).div(sigma.mul(5))
            .mul(volume.detach().div(sigma.add(eta).mul(4)));
        Assert.True(z.grad!.sub(expected).abs().max().item<double>() < 1e-12);
    }

    private static (nn.Module<Tensor, Tensor> Model, Tensor Head) Network(double hiddenScale, double headScale)
    {
        manual_seed(5);
        var first = nn.Linear(4, 3);
        var head = nn.Linear(3, 2);
        var model = nn.Sequential(first, head);
        model.to(float64);
        using (no_grad())
        {
            first.weight!.mul_(hiddenScale);
            first.bias!.mul_(hiddenScale);
            head.weight!.mul_(headScale);
        }
        return (model, head.weight!);
    }

    private static double PenaltyOf(LeastVolume penalty, nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        var outputs = model.forward(x);
        recorder.Stop();
        var context = new RegularizationContext(model, x, zeros(x.shape[0], dtype: int64), outputs, recorder.Activations);
        return penalty.LossPenalty(context, 2)!.item<double>();
    }

    [Fact]
    public void Measured_with_a_one_lipschitz_head_it_ignores_moving_scale_from_the_features_to_the_head()
    {
        using var scope = NewDisposeScope();
        var x = randn(10, 4, dtype: float64, generator: new Generator(3));
        var (model, head) = Network(1, 1);
        var (rescaled, _) = Network(4, 0.25);
        var small = 1e-9;
        var scaled = new LeastVolume(small);
        Assert.Equal(PenaltyOf(scaled, model, x), PenaltyOf(scaled, rescaled, x), 6);
        var raw = new LeastVolume(small, lipschitz: false);
        Assert.Equal(4 * PenaltyOf(raw, model, x), PenaltyOf(raw, rescaled, x), 6);
        var spectral = linalg.svdvals(head).max().item<double>();
        Assert.Equal(spectral * PenaltyOf(raw, model, x), PenaltyOf(scaled, model, x), 6);
    }

    [Fact]
    public void Bad_eta_and_a_single_example_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeastVolume(0));
        Assert.Throws<ArgumentException>(() => LeastVolume.Volume(ones(1, 3), 1));
    }
}
