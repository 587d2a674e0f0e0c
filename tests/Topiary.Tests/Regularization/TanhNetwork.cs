using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>
/// A small float64 tanh network (4 → 5 → 1) written as a function of its parameters, so that autograd can take it at
/// perturbed or sampled weights; shared by the tests of the regularizers that replace the backward pass.
/// </summary>
internal sealed class TanhNetwork
{
    public TanhNetwork(int seed)
    {
        var generator = new Generator((ulong)seed);
        Parameters =
        [
            new Parameter(randn(5, 4, dtype: float64, generator: generator).mul(0.5)),
            new Parameter(randn(5, dtype: float64, generator: generator).mul(0.1)),
            new Parameter(randn(1, 5, dtype: float64, generator: generator).mul(0.5)),
        ];
        X = randn(16, 4, dtype: float64, generator: generator);
        Y = randn(16, 1, dtype: float64, generator: generator);
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
}
