using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class JacobianNuclearNormRegularizerTests
{
    private static double Estimate(Tensor a, Tensor x, Tensor noise, double sigma) =>
        JacobianNuclearNormRegularizer.DenoisedSquaredFrobenius(v => v.matmul(a.t()), x, x.matmul(a.t()), noise, sigma).item<double>();

    [Fact]
    public void For_a_linear_map_the_denoised_estimate_converges_to_the_squared_Frobenius_norm_whatever_sigma()
    {
        using var scope = NewDisposeScope();
        var a = randn(4, 6, dtype: float64, generator: new Generator(1));
        var x = randn(50, 6, dtype: float64, generator: new Generator(2));
        var noise = randn(50 * 400, 6, dtype: float64, generator: new Generator(3));
        var frobenius = a.square().sum().item<double>();
        var estimate = Estimate(a, x, noise, 0.1);
        Assert.True(Math.Abs(estimate / frobenius - 1) < 0.03, $"{estimate} vs ‖A‖²_F = {frobenius}");
        Assert.Equal(estimate, Estimate(a, x, noise, 2.0), 9);
    }

    [Fact]
    public void Its_gradient_for_a_linear_map_is_twice_the_map_times_the_noise_second_moment()
    {
        using var scope = NewDisposeScope();
        var b = randn(3, 5, dtype: float64, generator: new Generator(4)).requires_grad_();
        var x = randn(8, 5, dtype: float64, generator: new Generator(5));
        var noise = randn(8 * 3, 5, dtype: float64, generator: new Generator(6));
        JacobianNuclearNormRegularizer.DenoisedSquaredFrobenius(v => v.matmul(b.t()), x, x.matmul(b.t()), noise, 0.3).backward();
        var expected = b.detach().matmul(noise.t().matmul(noise)).mul(2.0 / 24);
        Assert.True(b.grad!.sub(expected).abs().max().item<double>() < 1e-12);
    }

    private static (nn.Module<Tensor, Tensor> Model, Tensor W1, Tensor W2) LinearNetwork()
    {
        manual_seed(7);
        var first = nn.Linear(6, 5);
        var head = nn.Linear(5, 3);
        var model = nn.Sequential(first, head);
        model.to(float64);
        return (model, first.weight!, head.weight!);
    }

    private static double PenaltyOf(JacobianNuclearNormRegularizer regularizer, nn.Module<Tensor, Tensor> model, Tensor x, double strength = 1)
    {
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        var outputs = model.forward(x);
        recorder.Stop();
        var context = new RegularizationContext(model, x, zeros(x.shape[0], dtype: int64), outputs, recorder.Activations);
        return regularizer.LossPenalty(context, strength)!.item<double>();
    }

    [Fact]
    public void On_a_network_with_a_linear_hidden_map_the_penalty_approaches_half_the_sum_of_both_squared_norms()
    {
        using var scope = NewDisposeScope();
        var (model, w1, w2) = LinearNetwork();
        var x = randn(20, 6, dtype: float64, generator: new Generator(8));
        var penalty = PenaltyOf(new JacobianNuclearNormRegularizer(sigma: 0.5, samples: 1000), model, x, strength: 2);
        var expected = w1.square().sum().item<double>() + w2.square().sum().item<double>();
        Assert.True(Math.Abs(penalty / expected - 1) < 0.03, $"{penalty} vs {expected}");
    }

    [Fact]
    public void The_noise_is_seeded_and_survives_a_state_round_trip()
    {
        using var scope = NewDisposeScope();
        var (model, _, _) = LinearNetwork();
        var x = randn(4, 6, dtype: float64, generator: new Generator(9)).pow(3);
        var first = new JacobianNuclearNormRegularizer(seed: 3);
        var second = new JacobianNuclearNormRegularizer(seed: 3);
        Assert.Equal(PenaltyOf(first, model, x), PenaltyOf(second, model, x));
        var restored = new JacobianNuclearNormRegularizer(seed: 3);
        restored.LoadState([], first.SaveState([]));
        Assert.Equal(PenaltyOf(first, model, x), PenaltyOf(restored, model, x));
        Assert.NotEqual(PenaltyOf(new JacobianNuclearNormRegularizer(seed: 4), model, x), PenaltyOf(second, model, x));
    }

    [Theory]
    [InlineData("sigma", 0.0)]
    [InlineData("samples", 0.0)]
    [InlineData("seed", -1.0)]
    public void Bad_parameters_are_refused_with_their_key(string key, double value)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => RegularizerLibrary.Find("jacnuc")!.Create(new Dictionary<string, double> { [key] = value }));
        Assert.Equal(key, error.ParamName);
    }
}
