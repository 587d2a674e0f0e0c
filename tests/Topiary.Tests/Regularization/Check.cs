using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>Small numeric helpers shared by the regularizer tests.</summary>
internal static class Check
{
    public static double MaxRelativeDifference(Tensor a, Tensor b) =>
        a.sub(b).abs().max().to(float64).item<double>() / Math.Max(b.abs().max().to(float64).item<double>(), 1e-300);

    /// <summary>∂R/∂w by autograd of <paramref name="penalty"/>.</summary>
    public static Tensor Autograd(Tensor w, Func<Tensor, Tensor> penalty)
    {
        var leaf = w.detach().clone().requires_grad_();
        penalty(leaf).backward();
        return leaf.grad!.detach().clone();
    }

    /// <summary>What <c>AddGradient</c> adds to a zero gradient.</summary>
    public static Tensor Added(Topiary.Regularization.GradientRegularizer regularizer, Tensor w, double strength)
    {
        var g = zeros_like(w);
        regularizer.AddGradient(w, g, strength);
        return g;
    }

    /// <summary>
    /// Runs one <see cref="Topiary.Training.RegularizedStep"/> with plain SGD at learning rate 1, so that each
    /// parameter's change is the gradient the step applied, and returns those changes.
    /// </summary>
    public static List<Tensor> AppliedGradients(nn.Module<Tensor, Tensor> model, Topiary.Regularization.GradientRegularizer regularizer,
        Tensor inputs, Tensor targets, double strength)
    {
        var parameters = model.parameters().ToList();
        var before = parameters.Select(p => p.detach().clone()).ToList();
        using var optimizer = new Topiary.Optimization.SgdOptimizer(parameters, 1.0, momentum: 0);
        using var step = new Topiary.Training.RegularizedStep(model, optimizer, regularizer, parameters, masks: null);
        step.Run(inputs, targets, strength);
        return before.Select((b, i) => b.sub(parameters[i].detach())).ToList();
    }

    /// <summary>
    /// Asserts that one step with <paramref name="regularizer"/> at <paramref name="strength"/> on a Linear(4, 6)–tanh–Linear(6, 3)
    /// model (float64) applies autograd's gradient of cross-entropy + strength·penalty(model, inputs, h), h the tanh features
    /// (the penultimate representation), on random inputs with <paramref name="targets"/>.
    /// </summary>
    public static void StepMatchesPenalty(Topiary.Regularization.GradientRegularizer regularizer, double strength, Tensor targets,
        Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor> penalty)
    {
        var inputs = randn(targets.shape[0], 4, dtype: float64, generator: new Generator(1));
        manual_seed(3);
        var model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3));
        model.to(float64);
        var parameters = model.parameters().ToList();
        var hidden = nn.functional.tanh(nn.functional.linear(inputs, parameters[0], parameters[1]));
        var reference = nn.functional.cross_entropy(nn.functional.linear(hidden, parameters[2], parameters[3]), targets)
            .add(penalty(model, inputs, hidden).mul(strength));
        var expected = torch.autograd.grad(new[] { reference }, parameters.Cast<Tensor>().ToList()).Select(g => g.detach().clone()).ToList();
        var applied = AppliedGradients(model, regularizer, inputs, targets, strength);
        for (var i = 0; i < parameters.Count; i++)
            Assert.True(MaxRelativeDifference(applied[i], expected[i]) < 1e-10, $"parameter {i}");
        Assert.True(inputs.grad is null, "no gradient reaches the inputs");
    }

    /// <summary>A matrix with orthonormal rows (rows ≤ cols) or columns, from a QR factorization.</summary>
    public static Tensor Orthonormal(long rows, long cols, int seed)
    {
        var (q, _) = linalg.qr(randn(Math.Max(rows, cols), Math.Min(rows, cols), dtype: float64, generator: new Generator((ulong)seed)));
        return rows <= cols ? q.t().contiguous() : q.contiguous();
    }
}
