using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>
/// A small float64 tanh network (4 → 5 → outputs, 1 by default) written as a function of its parameters, so that autograd can take it at
/// perturbed or sampled weights; shared by the tests of the regularizers that replace the backward pass and of the fine-tuning terms (whose
/// reparameterized first weight stands in for a pretrained one).
/// </summary>
internal sealed class TanhNetwork
{
    public TanhNetwork(int seed, int outputs = 1)
    {
        var generator = new Generator((ulong)seed);
        Parameters =
        [
            new Parameter(randn(5, 4, dtype: float64, generator: generator).mul(0.5)),
            new Parameter(randn(5, dtype: float64, generator: generator).mul(0.1)),
            new Parameter(randn(outputs, 5, dtype: float64, generator: generator).mul(0.5)),
        ];
        X = randn(16, 4, dtype: float64, generator: generator);
        Y = randn(16, outputs, dtype: float64, generator: generator);
    }

    public List<Parameter> Parameters { get; }
    public Tensor X { get; }
    public Tensor Y { get; }
    public List<(string Name, Tensor Parameter)> Named => Parameters.Select((p, i) => ($"p{i}", (Tensor)p)).ToList();

    public Tensor Loss(IReadOnlyList<Tensor> w) =>
        nn.functional.linear(nn.functional.linear(X, w[0], w[1]).tanh(), w[2]).sub(Y).square().mean();

    /// <summary>The closure of the loss; <paramref name="observe"/> sees the parameters each forward pass runs at.</summary>
    public ObjectiveClosure Closure(Action? mask = null, Func<Tensor, Tensor?>? maskOf = null, Action<IReadOnlyList<Tensor>>? observe = null) =>
        new(Parameters, () =>
        {
            observe?.Invoke(Parameters);
            var l = Loss(Parameters);
            return (l, l);
        }, () => { foreach (var p in Parameters) p.grad?.zero_(); }, mask, maskOf);

    public List<Tensor> Snapshot() => Parameters.Select(p => p.detach().clone()).ToList();

    public Parameter First => Parameters[0];

    /// <summary>The loss with <paramref name="first"/> in place of the first weight.</summary>
    public Tensor Loss(Tensor first) =>
        nn.functional.linear(nn.functional.linear(X, first, Parameters[1]).tanh(), Parameters[2]).sub(Y).square().mean();

    /// <summary>∂L/∂W of the first weight at its current value.</summary>
    public Tensor FirstGradient()
    {
        var leaf = First.detach().clone().requires_grad_();
        Loss(leaf).backward();
        return leaf.grad!.detach().clone();
    }

    /// <summary>Steps of the regularizer alone on the first weight with the loss gradient, at strength <paramref name="strength"/>.</summary>
    public void Steps(GradientRegularizer regularizer, int count, double strength)
    {
        for (var i = 0; i < count; i++)
        {
            var g = FirstGradient();
            using (no_grad())
            {
                regularizer.AddGradient(First, g, strength);
                regularizer.Project(First, g, strength, 0.1);
            }
        }
    }
}
