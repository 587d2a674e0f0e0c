using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class GradientNormAwareMinimizationTests
{
    // L = ½θᵀAθ with A symmetric positive definite: ∇L = Aθ, H = A, so the finite differences are exact.
    private static (Tensor A, Parameter Theta, ObjectiveClosure Closure) Quadratic(int seed, Tensor? start = null)
    {
        var m = randn(5, 5, dtype: float64, generator: new Generator((ulong)seed));
        var a = m.matmul(m.t()).add(eye(5, dtype: float64));
        var theta = new Parameter(start ?? randn(5, dtype: float64, generator: new Generator((ulong)seed + 1)));
        var closure = ObjectiveClosure.Of([theta], () => theta.dot(a.matmul(theta)).mul(0.5));
        return (a, theta, closure);
    }

    private static Tensor Unit(Tensor v) => v.div(v.norm());

    [Fact]
    public void On_a_quadratic_the_step_is_the_closed_form_GAM_gradient_and_the_weights_come_back_bit_exactly()
    {
        using var scope = NewDisposeScope();
        var (a, theta, closure) = Quadratic(3);
        var before = theta.detach().clone();
        const double alpha = 0.7, rho = 0.1;
        var gam = new GradientNormAwareMinimization(rho, differenceStep: 0.01);
        gam.ComputeGradients(closure, alpha);

        var delta = Unit(a.matmul(a.matmul(before))).mul(rho);
        var perturbedGradient = a.matmul(before.add(delta));
        var expected = a.matmul(before).add(a.matmul(Unit(perturbedGradient)).mul(alpha * rho));
        Assert.True(theta.grad!.sub(expected).abs().max().item<double>() < 1e-9, $"{theta.grad!.sub(expected).abs().max().item<double>()}");
        Assert.Equal(rho * perturbedGradient.norm().item<double>(), gam.LastFirstOrderFlatness, 10);
        Assert.True(theta.detach().equal(before).all().item<bool>());
        Assert.Equal(4, closure.Passes);
    }

    [Fact]
    public void Along_the_top_eigenvector_the_one_step_estimate_is_the_exact_first_order_flatness()
    {
        using var scope = NewDisposeScope();
        var (a, _, _) = Quadratic(5);
        var (values, vectors) = linalg.eigh(a);
        var top = vectors[.., 4].mul(2.0);
        var (_, _, closure) = Quadratic(5, top);
        const double rho = 0.2;
        var gam = new GradientNormAwareMinimization(rho);
        gam.ComputeGradients(closure, 1.0);
        // max_{‖δ‖≤ρ}‖A(θ+δ)‖ ≤ ‖Aθ‖ + ρλ_max = λ_max(‖θ‖ + ρ), reached by δ = ρθ/‖θ‖.
        var lambda = values[4].item<double>();
        Assert.Equal(rho * lambda * (2.0 + rho), gam.LastFirstOrderFlatness, 8);
    }

    [Fact]
    public void With_alpha_zero_it_is_the_plain_gradient_in_one_pass()
    {
        using var scope = NewDisposeScope();
        var (a, theta, closure) = Quadratic(7);
        new GradientNormAwareMinimization().ComputeGradients(closure, 0);
        Assert.True(theta.grad!.sub(a.matmul(theta.detach())).abs().max().item<double>() < 1e-13);
        Assert.Equal(1, closure.Passes);
    }

    [Theory]
    [InlineData("rho", 0.0)]
    [InlineData("rho", -1.0)]
    [InlineData("h", 0.0)]
    public void Bad_parameters_are_refused_with_their_key(string key, double value)
    {
        var entry = RegularizerLibrary.Find("gam")!;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => entry.Create(new Dictionary<string, double> { [key] = value }));
        Assert.Equal(key, error.ParamName);
    }
}
