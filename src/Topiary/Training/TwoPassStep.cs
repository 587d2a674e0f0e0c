using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// The step as Bonetta et al.'s code computes it, with two backward passes: backward(L, retain) → R from the detached
/// g → zero the gradients → backward(L + R) → mask g → step → projection → mask w. It exists to show that
/// <see cref="RegularizedStep"/>'s single pass gives the same update, and to time both; production code uses
/// <see cref="RegularizedStep"/>. Only regularizers that act per tensor through <see cref="GradientRegularizer.Penalty"/>
/// fit this formulation: one with a loss penalty, a gradient transform or its own backward passes is refused.
/// </summary>
internal sealed class TwoPassStep
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly MaskableOptimizer optimizer;
    private readonly GradientRegularizer regularizer;
    private readonly IReadOnlyList<Parameter> regularized;
    private readonly PruningMasks? masks;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;

    public TwoPassStep(nn.Module<Tensor, Tensor> model, MaskableOptimizer optimizer, GradientRegularizer regularizer,
        IReadOnlyList<Parameter> regularized, PruningMasks? masks, Func<Tensor, Tensor, Tensor>? lossFunction = null)
    {
        if (regularizer.ReplacesBackward || regularizer.NeedsActivations)
            throw new ArgumentException($"regularizer '{regularizer.Name}' does not act through per-tensor penalties alone", nameof(regularizer));
        this.model = model;
        this.optimizer = optimizer;
        this.regularizer = regularizer;
        this.regularized = regularized.Where(p => regularizer.AppliesTo(p)).ToList();
        this.masks = masks;
        this.lossFunction = lossFunction ?? ((output, target) => nn.functional.cross_entropy(output, target));
    }

    /// <summary>Runs the step; returns the data loss.</summary>
    public double Run(Tensor inputs, Tensor targets, double gamma)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var loss = lossFunction(model.forward(inputs), targets);
        loss.backward(new List<Tensor>(), retain_graph: true, create_graph: false, inputs: new List<Tensor>());
        var penalty = zeros(1, dtype: loss.dtype, device: loss.device).sum();
        foreach (var p in regularized)
        {
            var g = p.grad?.detach().clone() ?? zeros_like(p);
            penalty = penalty.add(regularizer.Penalty(p, g, gamma));
        }
        optimizer.ZeroGrad();
        loss.add(penalty).backward();
        masks?.ApplyToGradients();
        if (optimizer is ICurvatureOptimizer curvature)
            curvature.UseBatch(new CurvatureBatch(model, inputs, targets, lossFunction, masks is null ? _ => null : masks.MaskOf));
        optimizer.Step();
        using (no_grad())
        {
            foreach (var p in regularized) regularizer.Project(p, p.grad, gamma, optimizer.LearningRate);
        }
        masks?.ApplyToWeights();
        return loss.detach().to(float64).item<double>();
    }
}
