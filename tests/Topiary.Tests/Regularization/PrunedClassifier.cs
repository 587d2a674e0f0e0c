using TorchSharp;
using TorchSharp.Modules;
using Topiary.Pruning;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>
/// A 4 → 6 → 2 tanh classifier with pruning masks on its two weight matrices (row 2 of fc1 and entry (0, 5) of fc2
/// pruned), trained a few steps by a <see cref="Topiary.Training.RegularizedStep"/> with SGD: how the tests check that
/// a regularizer keeps pruned weights at zero inside a real step.
/// </summary>
internal sealed class PrunedClassifier : IDisposable
{
    /// <param name="seed">The seed of the initial weights.</param>
    /// <param name="beforePruning">Sees the parameters before the masks zero them (e.g. to take dense pretrained values).</param>
    public PrunedClassifier(int seed, Action<IReadOnlyList<Parameter>>? beforePruning = null)
    {
        manual_seed(seed);
        Model = nn.Sequential(("fc1", nn.Linear(4, 6)), ("tanh", nn.Tanh()), ("fc2", nn.Linear(6, 2)));
        var named = Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        Parameters = Model.parameters().ToList();
        beforePruning?.Invoke(Parameters);
        Masks = new PruningMasks(named.Where(p => p.name.EndsWith("weight")));
        using (no_grad())
        {
            Masks.Entries[0].Mask[2] = zeros(4);
            Masks.Entries[1].Mask[0, 5] = tensor(0f);
        }
        Masks.ApplyToWeights();
    }

    public nn.Module<Tensor, Tensor> Model { get; }
    public List<Parameter> Parameters { get; }
    public PruningMasks Masks { get; }
    public const int Pruned = 5;

    /// <summary>Trains <paramref name="steps"/> steps on one fixed batch.</summary>
    public void Train(GradientRegularizer regularizer, double strength, int steps = 5, double momentum = 0)
    {
        using var optimizer = new Topiary.Optimization.SgdOptimizer(Parameters, 0.1, momentum);
        using var step = new Topiary.Training.RegularizedStep(Model, optimizer, regularizer, Parameters, Masks);
        var generator = new Generator(13);
        var x = randn(32, 4, generator: generator);
        var y = randint(0, 2, 32, generator: generator);
        for (var t = 0; t < steps; t++) step.Run(x, y, strength);
    }

    /// <summary>Whether every pruned weight is still exactly zero.</summary>
    public bool PrunedAreZero() =>
        Masks.Entries[0].Parameter[2].abs().sum().item<float>() == 0 && Masks.Entries[1].Parameter[0, 5].item<float>() == 0;

    public void Dispose() => Masks.Dispose();
}
