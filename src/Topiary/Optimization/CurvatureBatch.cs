using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// The mini-batch of a step, for an optimizer that needs more than the gradient (<see cref="ICurvatureOptimizer"/>):
/// the model, its inputs and targets, the data loss (a mean over examples of a per-example loss), and the live masks.
/// The tensors belong to the caller and live until the optimizer's next <see cref="MaskableOptimizer.Step"/> returns.
/// </summary>
/// <param name="Model">The model being trained.</param>
/// <param name="Inputs">The batch's inputs; the first dimension indexes the examples.</param>
/// <param name="Targets">The batch's targets; the first dimension indexes the examples.</param>
/// <param name="Loss">The data loss of (outputs, targets).</param>
/// <param name="MaskOf">The live 0/1 mask of a parameter (1 = kept), or null when none of its entries is pruned.</param>
public sealed record CurvatureBatch(nn.Module<Tensor, Tensor> Model, Tensor Inputs, Tensor Targets,
    Func<Tensor, Tensor, Tensor> Loss, Func<Tensor, Tensor?> MaskOf);
