using Topiary.Reporting;
using static TorchSharp.torch;
using Topiary.Pruning;

namespace Topiary.Training;

/// <summary>
/// A supervised task the training loop can run without knowing its data: batches by (seed, epoch),
/// the loss, and the validation/test metric with its direction.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The validation and test metric, with its name and direction (accuracy, perplexity).</summary>
    MetricKind Metric { get; }

    /// <summary>Optimizer steps in one epoch at <paramref name="batchSize"/>.</summary>
    int StepsPerEpoch(int batchSize);

    /// <summary>
    /// The (inputs, targets) batches of one epoch, in an order fixed by (seed, epoch), so that a
    /// resumed run can skip exactly the batches it has already seen.
    /// </summary>
    IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize);

    /// <summary>The training loss of a batch.</summary>
    Tensor Loss(Tensor output, Tensor targets);

    /// <summary>Metric and loss on the validation split.</summary>
    EvaluationResult Validate(nn.Module<Tensor, Tensor> model);

    /// <summary>Metric and loss on the test split.</summary>
    EvaluationResult Test(nn.Module<Tensor, Tensor> model);

    /// <summary>
    /// The validation split as (inputs, targets) batches of <paramref name="batchSize"/>, always in the same order, for
    /// what differentiates the validation loss (a tuned strength, <see cref="Topiary.Tuning.StrengthTuner"/>). The caller
    /// disposes the tensors. A task that cannot give them keeps the default, which throws.
    /// </summary>
    /// <exception cref="NotSupportedException">The task does not give validation batches.</exception>
    IEnumerable<(Tensor Inputs, Tensor Targets)> ValidationBatches(int batchSize) =>
        throw new NotSupportedException($"{GetType().Name} gives no validation batches, which tuning the strength needs");
}
