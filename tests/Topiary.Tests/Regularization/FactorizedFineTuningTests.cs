using TorchSharp;
using Topiary.Tests.Support;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

/// <summary>What SORSA and qGOFT share: the factors' own Adam inside a real step under masks, and checkpoints.</summary>
public class FactorizedFineTuningTests
{
    private const double LearningRate = 0.05;

    private static FactorizedFineTuning TrainingOf(GradientRegularizer regularizer) => regularizer switch
    {
        SorsaFineTuning sorsa => sorsa.Training,
        QuasiGivensFineTuning qgoft => qgoft.Training,
        CompositeRegularizer composite => TrainingOf(composite.Terms.Single().Regularizer),
        _ => throw new ArgumentException(regularizer.Name),
    };

    [Theory]
    [InlineData("sorsa:0.5:rank=2:lr=0.05")]
    [InlineData("qgoft:0.5:lr=0.05")]
    public void A_real_step_under_masks_steps_the_factors_by_adam_on_the_masked_gradient_and_writes_the_merged_weight(string spec)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var model = nn.Sequential(("fc1", nn.Linear(4, 6)), ("act", nn.Tanh()), ("fc2", nn.Linear(6, 3)));
        model.to(float64);
        var weights = model.named_parameters().Where(p => p.parameter.dim() == 2).ToList();
        using var masks = new PruningMasks(weights.Select(p => (p.name, p.parameter)));
        masks.Entries[0].Mask[0, 1] = tensor(0.0, dtype: float64);
        masks.Entries[0].Mask[3] = zeros(4, dtype: float64);
        masks.Entries[1].Mask[2, 5] = tensor(0.0, dtype: float64);
        masks.ApplyToWeights();
        var generator = new Generator(12);
        var (x, y) = (randn(16, 4, dtype: float64, generator: generator), randn(16, 3, dtype: float64, generator: generator));
        Func<Tensor, Tensor, Tensor> loss = (output, target) => output.sub(target).square().mean();

        // The expected step, from a second instance: Adam's first step θ − η·g/(|g| + ε) on the factor gradient of the
        // masked loss gradient at the pretrained weights.
        loss(model.forward(x), y).backward();
        var reference = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        var expected = new List<Tensor>();
        for (var i = 0; i < weights.Count; i++)
        {
            var w = weights[i].parameter;
            var g = TrainingOf(reference).FactorGradient(w, w.grad!.mul(masks.Entries[i].Mask), 0.5);
            var theta = TrainingOf(reference).Factors(w)!;
            var denominator = g.square().mul(1 - 0.999).sqrt().div(Math.Sqrt(1 - 0.999)).add(1e-8);
            expected.Add(theta.sub(g.mul(1 - 0.9).div(denominator).mul(LearningRate / (1 - 0.9))));
        }
        var pretrained = weights.Select(p => p.parameter.detach().clone()).ToList();

        var regularizer = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        var parameters = model.parameters().ToList();
        using var optimizer = new SgdOptimizer(parameters, 0.1, momentum: 0);
        using var step = new RegularizedStep(model, optimizer, regularizer, parameters, masks, loss);
        step.Run(x, y, 1.0);
        for (var i = 0; i < weights.Count; i++)
        {
            var w = weights[i].parameter;
            var actual = TrainingOf(regularizer).Factors(w)!;
            Assert.True(Check.MaxRelativeDifference(actual, expected[i]) < 1e-12, $"{weights[i].name}: factors differ by {Check.MaxRelativeDifference(actual, expected[i])}");
            // The model's optimizer step on W was replaced by mask ⊙ merge(frozen, θ).
            Assert.True(TensorAssert.BitEqual(w, TrainingOf(regularizer).Merged(w)!.mul(masks.Entries[i].Mask)));
            Assert.False(TensorAssert.BitEqual(w, pretrained[i]), "the weight moved");
            Assert.Equal(0.0, w.mul(masks.Entries[i].Mask.sub(1)).abs().sum().item<double>());
        }
    }

    [Theory]
    [InlineData("sorsa:0.5:rank=2:lr=0.05")]
    [InlineData("qgoft:0.5:lr=0.05")]
    public void A_state_restored_in_a_fresh_instance_continues_bit_identically(string spec)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(10, outputs: 3);
        var original = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        network.Steps(original, 3, 1.0);
        var state = original.SaveState(network.Named);
        Assert.Equal(5, state.Count);

        TanhNetwork Copy()
        {
            var copy = new TanhNetwork(10, outputs: 3);
            using var _ = no_grad();
            for (var i = 0; i < copy.Parameters.Count; i++) copy.Parameters[i].copy_(network.Parameters[i]);
            return copy;
        }
        var restoredNetwork = Copy();
        var coldNetwork = Copy();
        var restored = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        restored.LoadState(restoredNetwork.Named, state);
        network.Steps(original, 3, 1.0);
        restoredNetwork.Steps(restored, 3, 1.0);
        coldNetwork.Steps(new CompositeRegularizer(RegularizerSpec.Parse(spec)), 3, 1.0);
        Assert.True(TensorAssert.BitEqual(network.First, restoredNetwork.First), "the restored run continues bit-identically");
        Assert.False(TensorAssert.BitEqual(network.First, coldNetwork.First), "without the state it would not");
    }
}
