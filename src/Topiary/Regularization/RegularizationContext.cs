using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>What a loss penalty may look at: the model, the batch, its output and the recorded activations.</summary>
/// <param name="Model">The model being trained.</param>
/// <param name="Inputs">The batch.</param>
/// <param name="Targets">The batch's labels.</param>
/// <param name="Outputs">The model's output on the batch (with its autograd graph).</param>
/// <param name="Activations">
/// The inputs of every linear and convolution layer after the first, in forward order, with their graph;
/// empty unless some regularizer sets <see cref="GradientRegularizer.NeedsActivations"/>.
/// </param>
public sealed record RegularizationContext(nn.Module<Tensor, Tensor> Model, Tensor Inputs, Tensor Targets, Tensor Outputs,
    IReadOnlyList<Tensor> Activations)
{
    /// <summary>The data loss on the batch (with its graph), for penalties on its gradient; null when the caller has none.</summary>
    public Tensor? DataLoss { get; init; }
}
