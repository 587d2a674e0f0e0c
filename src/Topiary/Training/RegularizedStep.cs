using TorchSharp.Modules;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// One training step of a classifier under a gradient regularizer and pruning masks, with a single
/// backward pass: backward(L) → g += ∂R/∂w → mask g → optimizer step → projection → mask w.
/// </summary>
public sealed class RegularizedStep
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly MaskableOptimizer optimizer;
    private readonly GradientRegularizer regularizer;
    private readonly IReadOnlyList<Parameter> regularized;
    private readonly PruningMasks? masks;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;

    /// <summary>Binds the pieces a step needs; the loss defaults to cross-entropy on logits.</summary>
    public RegularizedStep(nn.Module<Tensor, Tensor> model, MaskableOptimizer optimizer, GradientRegularizer regularizer,
        IReadOnlyList<Parameter> regularized, PruningMasks? masks, Func<Tensor, Tensor, Tensor>? lossFunction = null)
    {
        this.lossFunction = lossFunction ?? ((output, target) => nn.functional.cross_entropy(output, target));
        this.model = model;
        this.optimizer = optimizer;
        this.regularizer = regularizer;
        this.regularized = regularized;
        this.masks = masks;
    }

    /// <summary>Runs the step on one batch with regularization strength <paramref name="gamma"/>; returns the data loss.</summary>
    public double Run(Tensor inputs, Tensor targets, double gamma)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var loss = lossFunction(model.forward(inputs), targets);
        loss.backward();
        using (no_grad())
        {
            foreach (var p in regularized)
                if (p.grad is { } g) regularizer.AddGradient(p, g, gamma);
        }
        masks?.ApplyToGradients();
        optimizer.Step();
        using (no_grad())
        {
            foreach (var p in regularized) regularizer.Project(p, p.grad, gamma, optimizer.LearningRate);
        }
        masks?.ApplyToWeights();
        return loss.detach().to(float64).item<double>();
    }

    /// <summary>
    /// The same step as Bonetta et al.'s code computes it, with two backward passes:
    /// backward(L, retain) → R from the detached g → zero grads → backward(L + R) → step.
    /// Kept for the equivalence test and the benchmark; <see cref="Run"/> gives the same update.
    /// </summary>
    public double RunTwoPass(Tensor inputs, Tensor targets, double gamma)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var loss = lossFunction(model.forward(inputs), targets);
        loss.backward(new List<Tensor>(), retain_graph: true, create_graph: false, inputs: new List<Tensor>());
        var penalty = zeros(1, dtype: loss.dtype).sum();
        foreach (var p in regularized)
        {
            var g = p.grad?.detach().clone() ?? zeros_like(p);
            penalty = penalty.add(regularizer.Penalty(p, g, gamma));
        }
        optimizer.ZeroGrad();
        loss.add(penalty).backward();
        masks?.ApplyToGradients();
        optimizer.Step();
        using (no_grad())
        {
            foreach (var p in regularized) regularizer.Project(p, p.grad, gamma, optimizer.LearningRate);
        }
        masks?.ApplyToWeights();
        return loss.detach().to(float64).item<double>();
    }
}
