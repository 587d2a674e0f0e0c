using Topiary.Backend;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// One training step of a classifier under a gradient regularizer and pruning masks, with a single
/// backward pass: backward(L + loss penalties) → g += ∂R/∂w → whole-gradient transforms → mask g →
/// optimizer step → projection → mask w. A regularizer that needs extra passes (SAM, AMP, F-GR) runs
/// the backward itself through an <see cref="ObjectiveClosure"/>. Each per-tensor member runs only on
/// the tensors the regularizer <see cref="GradientRegularizer.AppliesTo"/>.
/// </summary>
public sealed class RegularizedStep : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly MaskableOptimizer optimizer;
    private readonly GradientRegularizer regularizer;
    private readonly IReadOnlyList<Parameter> regularized;
    private readonly PruningMasks? masks;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;
    private readonly IReadOnlyList<Parameter> trainable;
    private readonly ActivationRecorder? recorder;

    /// <summary>Binds the pieces a step needs; the loss defaults to cross-entropy on logits.</summary>
    public RegularizedStep(nn.Module<Tensor, Tensor> model, MaskableOptimizer optimizer, GradientRegularizer regularizer,
        IReadOnlyList<Parameter> regularized, PruningMasks? masks, Func<Tensor, Tensor, Tensor>? lossFunction = null)
    {
        TorchBackend.EnsureVerified();
        this.lossFunction = lossFunction ?? ((output, target) => nn.functional.cross_entropy(output, target));
        this.model = model;
        this.optimizer = optimizer;
        this.regularizer = regularizer;
        this.regularized = regularized;
        this.masks = masks;
        trainable = model.parameters().Where(p => p.requires_grad).ToList();
        recorder = regularizer.NeedsActivations ? new ActivationRecorder(model) : null;
    }

    /// <summary>Runs the step on one batch with regularization strength <paramref name="gamma"/>; returns the data loss.</summary>
    public double Run(Tensor inputs, Tensor targets, double gamma)
    {
        using var scope = NewDisposeScope();
        try
        {
            var objective = new ObjectiveClosure(trainable, () => Objective(inputs, targets, gamma), optimizer.ZeroGrad,
                masks is null ? null : masks.ApplyToGradients);
            var loss = regularizer.ReplacesBackward ? regularizer.ComputeGradients(objective, gamma) : objective.Backward();
            using (no_grad())
            {
                foreach (var p in regularized)
                    if (p.grad is { } g && regularizer.AppliesTo(p)) regularizer.AddGradient(p, g, gamma);
                regularizer.TransformGradients(trainable, gamma);
            }
            StepAndProject(gamma);
            return loss.to(float64).item<double>();
        }
        finally
        {
            recorder?.Clear();
        }
    }

    // The data loss and the objective to differentiate: the data loss plus the regularizer's loss penalty, if any.
    private (Tensor DataLoss, Tensor Objective) Objective(Tensor inputs, Tensor targets, double gamma)
    {
        recorder?.Start();
        var outputs = model.forward(inputs);
        recorder?.Stop();
        var loss = lossFunction(outputs, targets);
        var context = new RegularizationContext(model, inputs, targets, outputs, recorder?.Activations ?? Array.Empty<Tensor>())
        {
            DataLoss = loss,
        };
        var penalty = regularizer.LossPenalty(context, gamma);
        return (loss, penalty is null ? loss : loss.add(penalty));
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
        StepAndProject(gamma);
        return loss.detach().to(float64).item<double>();
    }

    // Shared tail of both formulations: mask g → optimizer step → projection → mask w.
    private void StepAndProject(double gamma)
    {
        masks?.ApplyToGradients();
        optimizer.Step();
        using (no_grad())
        {
            foreach (var p in regularized)
                if (regularizer.AppliesTo(p)) regularizer.Project(p, p.grad, gamma, optimizer.LearningRate);
        }
        masks?.ApplyToWeights();
    }

    /// <inheritdoc />
    public void Dispose() => recorder?.Dispose();
}
