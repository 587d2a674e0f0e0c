using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>
/// A small tanh network in float64, written as a function of its parameters so that autograd can take the loss through
/// a reparameterized first weight; its parameters stand in for pretrained ones.
/// </summary>
internal sealed class FineTuningNetwork
{
    public FineTuningNetwork(int seed)
    {
        var generator = new Generator((ulong)seed);
        Parameters =
        [
            new Parameter(randn(5, 4, dtype: float64, generator: generator).mul(0.5)),
            new Parameter(randn(5, dtype: float64, generator: generator).mul(0.1)),
            new Parameter(randn(3, 5, dtype: float64, generator: generator).mul(0.5)),
        ];
        X = randn(16, 4, dtype: float64, generator: generator);
        Y = randn(16, 3, dtype: float64, generator: generator);
    }

    public List<Parameter> Parameters { get; }
    public Parameter First => Parameters[0];
    public Tensor X { get; }
    public Tensor Y { get; }
    public List<(string Name, Tensor Parameter)> Named => Parameters.Select((p, i) => ($"p{i}", (Tensor)p)).ToList();

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
