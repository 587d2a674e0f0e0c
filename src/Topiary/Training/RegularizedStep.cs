using Topiary.Backend;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// One training step under a gradient regularizer and pruning masks, with a single backward pass, in two halves
/// around the optimizer's own step: <see cref="Backward"/> (forward → loss + loss penalties → backward, or the passes
/// of a regularizer that replaces it, such as SAM, each forward pass preceded by <see cref="GradientRegularizer.BeforeForward"/> → g += ∂R/∂w → whole-gradient transforms → mask g) and, after the
/// optimizer step, <see cref="Finish"/> (projection → mask w). <see cref="Run"/> does both with a Topiary optimizer.
/// Each per-tensor member runs only on the tensors the regularizer <see cref="GradientRegularizer.AppliesTo"/>.
/// </summary>
public sealed class RegularizedStep : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly MaskableOptimizer? optimizer;
    private readonly GradientRegularizer regularizer;
    private readonly IReadOnlyList<Parameter> regularized;
    private readonly PruningMasks? masks;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;
    private readonly IReadOnlyList<Parameter> trainable;
    private readonly ActivationRecorder? recorder;

    /// <summary>Binds the pieces a step needs; the loss defaults to cross-entropy on logits. The optimizer steps outside.</summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="regularizer">The regularizer (its strength is given per step).</param>
    /// <param name="regularized">The parameters its per-tensor members act on (those it <see cref="GradientRegularizer.AppliesTo"/>).</param>
    /// <param name="masks">The pruning masks, or null for dense training.</param>
    /// <param name="lossFunction">The data loss of (output, target).</param>
    public RegularizedStep(nn.Module<Tensor, Tensor> model, GradientRegularizer regularizer, IReadOnlyList<Parameter> regularized,
        PruningMasks? masks, Func<Tensor, Tensor, Tensor>? lossFunction = null)
    {
        TorchBackend.EnsureVerified();
        this.lossFunction = lossFunction ?? ((output, target) => nn.functional.cross_entropy(output, target));
        this.model = model;
        this.regularizer = regularizer;
        this.regularized = regularized;
        this.masks = masks;
        trainable = model.parameters().Where(p => p.requires_grad).ToList();
        recorder = regularizer.NeedsActivations ? new ActivationRecorder(model) : null;
    }

    /// <summary>As above, with a Topiary optimizer that <see cref="Run"/> steps.</summary>
    public RegularizedStep(nn.Module<Tensor, Tensor> model, MaskableOptimizer optimizer, GradientRegularizer regularizer,
        IReadOnlyList<Parameter> regularized, PruningMasks? masks, Func<Tensor, Tensor, Tensor>? lossFunction = null)
        : this(model, regularizer, regularized, masks, lossFunction)
    {
        this.optimizer = optimizer;
    }

    /// <summary>The regularizer.</summary>
    public GradientRegularizer Regularizer => regularizer;

    /// <summary>Runs a whole step on one batch with regularization strength <paramref name="gamma"/>: <see cref="Backward"/>, the optimizer's step, <see cref="Finish"/>. Returns the data loss.</summary>
    /// <exception cref="InvalidOperationException">The step was built without an optimizer.</exception>
    public double Run(Tensor inputs, Tensor targets, double gamma)
    {
        if (optimizer is null) throw new InvalidOperationException($"this {nameof(RegularizedStep)} has no optimizer: call {nameof(Backward)}, step your optimizer, then {nameof(Finish)}");
        var loss = Backward(inputs, targets, gamma);
        if (optimizer is ICurvatureOptimizer curvature) curvature.UseBatch(BatchOf(inputs, targets));
        optimizer.Step();
        Finish(gamma, optimizer.LearningRate);
        return loss;
    }

    /// <summary>
    /// The first half of a step: forward, data loss plus the regularizer's loss penalty, backward (or the regularizer's
    /// own passes), then ∂R/∂w added, whole-gradient transforms, pruned gradients zeroed. Gradients are cleared first.
    /// Returns the data loss.
    /// </summary>
    public double Backward(Tensor inputs, Tensor targets, double gamma)
    {
        using var scope = NewDisposeScope();
        try
        {
            var objective = new ObjectiveClosure(trainable, () => Objective(inputs, targets, gamma), ZeroGradients,
                masks is null ? null : masks.ApplyToGradients, masks is null ? null : masks.MaskOf);
            var loss = regularizer.ReplacesBackward ? regularizer.ComputeGradients(objective, gamma) : objective.Backward();
            AddGradients(gamma);
            return loss.to(float64).item<double>();
        }
        finally
        {
            recorder?.Clear();
        }
    }

    /// <summary>The batch as an optimizer that reads it sees it (<see cref="ICurvatureOptimizer"/>): this step's model, loss and masks.</summary>
    public CurvatureBatch BatchOf(Tensor inputs, Tensor targets) =>
        new(model, inputs, targets, lossFunction, masks is null ? _ => null : masks.MaskOf);

    /// <summary>
    /// For a caller that ran the backward pass itself (gradient accumulation, its own loss): adds ∂R/∂w, transforms the
    /// whole gradient and zeros pruned gradients.
    /// </summary>
    /// <exception cref="InvalidOperationException">The regularizer needs the forward pass (a loss penalty, activations, or its own backward passes).</exception>
    public void AddRegularizerGradients(double gamma)
    {
        if (regularizer.ReplacesBackward || regularizer.NeedsActivations)
            throw new InvalidOperationException($"regularizer '{regularizer.Name}' needs the forward pass ({(regularizer.ReplacesBackward ? "it runs its own backward passes" : "it reads the activations")}): let the session run it with Backward(inputs, targets, loss)");
        AddGradients(gamma);
    }

    /// <summary>Called with the data loss's gradients in place, before ∂R/∂w is added: where a gradient importance reads them.</summary>
    internal Action? ObserveGradients { get; set; }

    private void AddGradients(double gamma)
    {
        ObserveGradients?.Invoke();
        using (no_grad())
        {
            foreach (var p in regularized)
                if (p.grad is { } g && regularizer.AppliesTo(p)) regularizer.AddGradient(p, g, gamma);
            regularizer.TransformGradients(trainable, gamma);
        }
        masks?.ApplyToGradients();
    }

    /// <summary>The second half, after the optimizer's step of size <paramref name="stepSize"/>: the regularizer's projection (proximal steps), then pruned weights zeroed.</summary>
    public void Finish(double gamma, double stepSize)
    {
        using (no_grad())
        {
            foreach (var p in regularized)
                if (regularizer.AppliesTo(p)) regularizer.Project(p, p.grad, gamma, stepSize);
        }
        masks?.ApplyToWeights();
    }

    private void ZeroGradients()
    {
        foreach (var p in trainable) p.grad?.zero_();
    }

    // The data loss and the objective to differentiate: the data loss plus the regularizer's loss penalty, if any.
    private (Tensor DataLoss, Tensor Objective) Objective(Tensor inputs, Tensor targets, double gamma)
    {
        regularizer.BeforeForward(model, inputs, targets);
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

    /// <inheritdoc />
    public void Dispose() => recorder?.Dispose();
}
