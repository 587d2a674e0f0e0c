using Topiary.Reporting;
using static TorchSharp.torch;
using Topiary.Pruning;

namespace Topiary.Training;

/// <summary>
/// A user's data, loss and metric as an <see cref="ITrainingTask"/>, so that <see cref="PruningLoop"/> runs them. The
/// source decides the batches (the run's batch size and seed do not apply); batch tensors are handed to the loop as
/// aliases, so disposing them never frees the source's own tensors.
/// </summary>
internal sealed class DataTask(PruningData data, Func<Tensor, Tensor, Tensor> loss, ValidationMetric metric) : ITrainingTask
{
    private int? stepsPerEpoch;

    public MetricKind Metric { get; } = MetricKind.Of(metric.Name, metric.HigherIsBetter);

    /// <summary>The number of training batches of epoch 0 (counted once).</summary>
    public int StepsPerEpoch(int batchSize) => stepsPerEpoch ??= data.TrainEpoch(0).Count() is var n && n > 0
        ? n : throw new ArgumentException("the training data has no batches");

    public IEnumerable<(Tensor Inputs, Tensor Targets)> EpochBatches(int seed, int epoch, int batchSize)
    {
        foreach (var (inputs, targets) in data.TrainEpoch(epoch)) yield return (inputs.alias(), targets.alias());
    }

    public Tensor Loss(Tensor output, Tensor targets) => loss(output, targets);

    /// <summary>The source's validation batches as they come (the batch size does not apply).</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> ValidationBatches(int batchSize)
    {
        foreach (var (inputs, targets) in data.Validation) yield return (inputs.alias(), targets.alias());
    }

    public EvaluationResult Validate(nn.Module<Tensor, Tensor> model) => Evaluate(model, data.Validation);

    public EvaluationResult Test(nn.Module<Tensor, Tensor> model) =>
        data.Test is { } test ? Evaluate(model, test) : new EvaluationResult(double.NaN, double.NaN);

    private EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor Inputs, Tensor Targets)> batches) =>
        Evaluation.InEvalMode(model, () =>
        {
            using var _ = no_grad();
            double metricSum = 0, lossSum = 0;
            long samples = 0;
            foreach (var (inputs, targets) in batches)
            {
                using var scope = NewDisposeScope();
                var outputs = model.forward(inputs);
                var n = inputs.shape[0];
                metricSum += metric.BatchMean(outputs, targets) * n;
                lossSum += loss(outputs, targets).to(float64).item<double>() * n;
                samples += n;
            }
            if (samples == 0) throw new ArgumentException("the held-out data has no batches");
            return new EvaluationResult(metric.Finish(metricSum / samples), lossSum / samples);
        });
}
