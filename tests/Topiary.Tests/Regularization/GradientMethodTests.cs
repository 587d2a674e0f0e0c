using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class GradientMethodTests
{
    private sealed class Problem
    {
        public Problem(int seed)
        {
            manual_seed(seed);
            Model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 1));
            Model.to(float64);
            Parameters = Model.parameters().ToList();
            X = randn(32, 6, dtype: float64, generator: new Generator((ulong)seed));
            Y = randn(32, 1, dtype: float64, generator: new Generator((ulong)seed + 1));
        }

        public nn.Module<Tensor, Tensor> Model { get; }
        public IReadOnlyList<Parameter> Parameters { get; }
        public Tensor X { get; }
        public Tensor Y { get; }
        public Tensor Loss() => nn.functional.mse_loss(Model.forward(X), Y);
        public ObjectiveClosure Closure() => ObjectiveClosure.Of(Parameters, Loss);
        public List<Tensor> Snapshot() => Parameters.Select(p => p.detach().clone()).ToList();
        public List<Tensor> Gradients() => Parameters.Select(p => p.grad!.detach().clone()).ToList();

        public List<Tensor> GradientAt(IReadOnlyList<Tensor> values)
        {
            var saved = Snapshot();
            using (no_grad()) for (var i = 0; i < values.Count; i++) Parameters[i].copy_(values[i]);
            foreach (var p in Parameters) p.grad?.zero_();
            Loss().backward();
            var result = Gradients();
            using (no_grad()) for (var i = 0; i < values.Count; i++) Parameters[i].copy_(saved[i]);
            return result;
        }
    }

    private static double Norm(IEnumerable<Tensor> tensors) => Math.Sqrt(tensors.Sum(t => t.square().sum().item<double>()));

    private static double MaxDifference(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) =>
        a.Zip(b).Max(pair => pair.First.sub(pair.Second).abs().max().item<double>());

    [Fact]
    public void Clipping_scales_the_global_norm_to_the_threshold_keeps_the_direction_and_matches_TorchSharp()
    {
        using var scope = NewDisposeScope();
        var problem = new Problem(1);
        problem.Loss().mul(100).backward();
        var before = problem.Gradients();
        var reference = before.Select(g =>
        {
            var p = new Parameter(zeros_like(g));
            p.grad = g.clone();
            return p;
        }).ToList();
        var norm = Norm(before);
        new GradientNormClipping().TransformGradients(problem.Parameters, 0.5);
        Assert.Equal(0.5, Norm(problem.Gradients()), 10);
        var cosine = problem.Gradients().Zip(before).Sum(p => p.First.mul(p.Second).sum().item<double>()) / (0.5 * norm);
        Assert.Equal(1.0, cosine, 10);
        nn.utils.clip_grad_norm_(reference, 0.5);
        var torchDifference = MaxDifference(problem.Gradients(), reference.Select(p => p.grad!).ToList());
        Assert.True(torchDifference < 1e-6, $"differs from clip_grad_norm_ by {torchDifference}");   // torch divides by ‖g‖ + 1e-6
        var clipped = problem.Gradients();
        new GradientNormClipping().TransformGradients(problem.Parameters, 10.0);
        Assert.True(MaxDifference(problem.Gradients(), clipped) == 0, "below the threshold clipping is a no-op");
    }

    [Fact]
    public void Sam_applies_the_gradient_at_the_normalized_ascent_point_and_restores_the_weights_bit_exactly()
    {
        using var scope = NewDisposeScope();
        var problem = new Problem(2);
        var theta = problem.Snapshot();
        var closure = problem.Closure();
        new SharpnessAwareMinimization().ComputeGradients(closure, 0.05);
        Assert.Equal(2, closure.Passes);
        Assert.True(problem.Parameters.Zip(theta).All(p => p.First.eq(p.Second).all().item<bool>()), "θ must be restored exactly");
        var sam = problem.Gradients();

        var g = problem.GradientAt(theta);
        var gNorm = Norm(g);
        var expected = problem.GradientAt(theta.Zip(g).Select(p => p.First.add(p.Second, alpha: 0.05 / gNorm)).ToList());
        Assert.True(MaxDifference(sam, expected) < 1e-12);
    }

    [Fact]
    public void Amp_stays_in_the_ball_and_with_one_inner_step_equals_sam()
    {
        using var scope = NewDisposeScope();
        var problem = new Problem(3);
        var theta = problem.Snapshot();
        var amp = new AdversarialModelPerturbation(innerSteps: 5, innerStepSize: 0.03);
        var closure = problem.Closure();
        amp.ComputeGradients(closure, 0.05);
        Assert.Equal(6, closure.Passes);
        Assert.True(amp.LastPerturbationNorm <= 0.05 + 1e-12, $"‖Δ‖ = {amp.LastPerturbationNorm}");
        Assert.True(amp.LastPerturbationNorm > 0.049, "five steps of 0.03 reach the boundary");
        Assert.True(problem.Parameters.Zip(theta).All(p => p.First.eq(p.Second).all().item<bool>()));

        new AdversarialModelPerturbation(innerSteps: 1).ComputeGradients(problem.Closure(), 0.05);
        var oneStep = problem.Gradients();
        new SharpnessAwareMinimization().ComputeGradients(problem.Closure(), 0.05);
        Assert.True(MaxDifference(oneStep, problem.Gradients()) == 0);
    }

    [Fact]
    public void Finite_difference_gradient_regularization_approaches_double_backprop_with_first_order_error()
    {
        using var scope = NewDisposeScope();
        var problem = new Problem(4);
        const double gamma = 0.05;
        // Exact ∇(L + γ/2‖∇L‖²) = ∇L + γ·H·∇L by double backpropagation.
        var loss = problem.Loss();
        var inputs = problem.Parameters.Cast<Tensor>().ToList();
        var first = torch.autograd.grad(new[] { loss }, inputs, retain_graph: true, create_graph: true);
        var gradNormSquared = first.Select(g => g.square().sum()).Aggregate((a, b) => a.add(b));
        var exact = torch.autograd.grad(new[] { loss.add(gradNormSquared.mul(gamma / 2)) }, inputs).Select(t => t.detach()).ToList();

        double Error(double h)
        {
            new FiniteDifferenceGradientRegularization(h).ComputeGradients(problem.Closure(), gamma);
            return MaxDifference(problem.Gradients(), exact);
        }
        var coarse = Error(1e-2);
        var fine = Error(5e-3);
        Assert.True(coarse < 1e-2, $"error {coarse}");
        Assert.InRange(fine / coarse, 0.35, 0.65);   // O(h): halving h halves the error
    }
}
