using Topiary.Backend;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>Evaluates classifiers without building autograd graphs.</summary>
public static class Evaluation
{
    /// <summary>
    /// Accuracy and mean loss of <paramref name="model"/> on (images, labels), in batches. The default batch of 250 keeps
    /// libtorch's im2col buffers in cache: with oneDNN off, LeNet-5 validated 5,000 images in 0.42 s at batch 250 and
    /// in 2.4 s at batch 1,000, which made validation a third of the default run.
    /// </summary>
    public static EvaluationResult Classify(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, int batchSize = 250)
    {
        TorchBackend.EnsureVerified();
        return InEvalMode(model, () => Classify(model.forward, images, labels, batchSize));
    }

    /// <summary>
    /// Accuracy and mean loss of any classifier's forward pass (logits [batch, classes]), such as an inference engine's
    /// (<c>SparseInferenceModel.Forward</c>, <c>OnnxRuntimeNetwork.Forward</c>), on (images, labels), in batches.
    /// </summary>
    public static EvaluationResult Classify(Func<Tensor, Tensor> forward, Tensor images, Tensor labels, int batchSize = 250)
    {
        ArgumentNullException.ThrowIfNull(forward);
        using var _ = no_grad();
        long correct = 0;
        double lossSum = 0;
        var n = images.shape[0];
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(batchSize, n - start);
            var logits = forward(images.narrow(0, start, length));
            var target = labels.narrow(0, start, length);
            lossSum += nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.Sum).to(float64).item<double>();
            correct += logits.argmax(1).eq(target).sum().item<long>();
        }
        return new EvaluationResult(n == 0 ? 0 : (double)correct / n, n == 0 ? 0 : lossSum / n);
    }

    /// <summary>
    /// The accuracy of <paramref name="model"/> on each class of (images, labels), indexed by class (the logits' width), NaN
    /// for a class with no example: its minimum is the worst-class accuracy that class-level GroupDRO
    /// (<see cref="Regularization.GroupDro"/>) targets.
    /// </summary>
    public static IReadOnlyList<double> ClassAccuracies(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, int batchSize = 250)
    {
        TorchBackend.EnsureVerified();
        return InEvalMode(model, () =>
        {
            long[]? correct = null, seen = null;
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var length = Math.Min(batchSize, images.shape[0] - start);
                var logits = model.forward(images.narrow(0, start, length));
                var target = labels.narrow(0, start, length);
                var classes = logits.shape[1];
                correct ??= new long[classes];
                seen ??= new long[classes];
                var hits = target.masked_select(logits.argmax(1).eq(target)).bincount(null, classes).data<long>().ToArray();
                var counts = target.bincount(null, classes).data<long>().ToArray();
                for (var c = 0; c < classes; c++) (correct[c], seen[c]) = (correct[c] + hits[c], seen[c] + counts[c]);
            }
            return (IReadOnlyList<double>)(seen ?? []).Select((n, c) => n == 0 ? double.NaN : (double)correct![c] / n).ToArray();
        });
    }

    /// <summary>
    /// Runs <paramref name="evaluate"/> with <paramref name="model"/> in evaluation mode and without
    /// autograd, then puts the model back in the mode it was in (training resumes after an evaluation).
    /// </summary>
    public static T InEvalMode<T>(nn.Module model, Func<T> evaluate)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            return evaluate();
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
