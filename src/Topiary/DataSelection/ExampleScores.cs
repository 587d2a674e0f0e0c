using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.DataSelection;

/// <summary>
/// The per-example scores of Paul, Ganguli and Dziugaite (NeurIPS 2021, "Deep Learning on a Data Diet", seed #106), read
/// from one model early in training. Both run the model in evaluation mode: a per-example gradient through batch
/// statistics would not be the example's own, and dropout would make the score a draw.
/// </summary>
public static class ExampleScores
{
    /// <summary>
    /// EL2N of every example: ‖softmax(f(xᵢ)) − onehot(yᵢ)‖₂ over the classes (the model's outputs are logits).
    /// </summary>
    /// <param name="model">The classifier, put back in its mode afterwards.</param>
    /// <param name="inputs">The examples, first dimension the example.</param>
    /// <param name="labels">Their classes, int64.</param>
    /// <param name="batchSize">Examples per forward pass (memory only; the scores do not depend on it).</param>
    public static float[] El2n(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, int batchSize = 250)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var count = inputs.shape[0];
        var scores = new float[count];
        Evaluation.InEvalMode(model, () =>
        {
            for (long first = 0; first < count; first += batchSize)
            {
                using var scope = NewDisposeScope();
                var length = Math.Min(batchSize, count - first);
                var logits = model.forward(inputs.narrow(0, first, length));
                var probabilities = nn.functional.softmax(logits.to(float32), 1);
                var target = nn.functional.one_hot(labels.narrow(0, first, length), logits.shape[1]).to(float32);
                probabilities.sub(target).norm(1).data<float>().CopyTo(scores, (int)first);
            }
            return 0;
        });
        return scores;
    }

    /// <summary>
    /// GraNd of every example: ‖∇_w ℓ(f(xᵢ), yᵢ)‖₂ over every parameter that requires a gradient, one backward pass
    /// per example (exact, and slow on large sets: the paper's vectorized per-example gradients have no TorchSharp
    /// counterpart). The parameters' own gradients are left alone.
    /// </summary>
    /// <param name="model">The classifier, put back in its mode afterwards.</param>
    /// <param name="inputs">The examples, first dimension the example.</param>
    /// <param name="labels">Their targets.</param>
    /// <param name="loss">The training loss of a batch (the paper's cross-entropy), a scalar.</param>
    public static float[] GraNd(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, Func<Tensor, Tensor, Tensor> loss)
    {
        var parameters = model.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToArray();
        var count = inputs.shape[0];
        var scores = new float[count];
        Evaluation.InEvalMode(model, () =>
        {
            using var grad = enable_grad();
            for (long i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                var value = loss(model.forward(inputs.narrow(0, i, 1)), labels.narrow(0, i, 1));
                var gradients = autograd.grad([value], parameters, allow_unused: true);
                var squares = gradients.Where(g => g is not null && !g.IsInvalid).Select(g => g.to(float64).square().sum()).ToList();
                scores[i] = squares.Count == 0 ? 0 : (float)Math.Sqrt(stack(squares).sum().item<double>());
            }
            return 0;
        });
        return scores;
    }
}
