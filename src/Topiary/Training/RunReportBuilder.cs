using Topiary.Backend;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// The parts of a <see cref="RunReport"/> that every pruning run has, whatever its task: versions, settings, backend,
/// dense and final metrics, selection, per-layer sparsity, trajectories and timing. Callers add their own parts
/// (cost, samples, BLEU) with <c>with</c>.
/// </summary>
public static class RunReportBuilder
{
    /// <summary>
    /// The report of a pruning run: what was run (<paramref name="model"/>, <paramref name="dataset"/>,
    /// <paramref name="method"/>, <paramref name="seed"/>, <paramref name="hyperparameters"/>, <paramref name="backend"/>),
    /// the dense starting point, the loop's <paramref name="outcome"/> with the <paramref name="pruned"/> model's sparsity
    /// and the timings, scored by <paramref name="metric"/>.
    /// </summary>
    public static RunReport Build(string model, DatasetInfo dataset, string method, int seed, IReadOnlyDictionary<string, object> hyperparameters,
        BackendStatus backend, EvaluationResult denseValidation, EvaluationResult denseTest, long denseParameters, PruningOutcome outcome,
        nn.Module<Tensor, Tensor> pruned, PruningMasks masks, IReadOnlyList<double> denseStepMilliseconds, double totalSeconds, double denseSeconds,
        MetricKind metric)
    {
        var (paramCount, nonzero) = SparsityStatistics.Model(pruned);
        var stepTimes = denseStepMilliseconds.Concat(outcome.StepMilliseconds).ToList();
        return new RunReport
        {
            ToolVersion = ToolInfo.Version,
            Model = model,
            Dataset = dataset,
            Method = method,
            Seed = seed,
            Hyperparameters = hyperparameters,
            Backend = BackendInfo.From(backend, get_num_threads()),
            Dense = new DenseMetrics(denseValidation.Metric, denseTest.Metric, denseParameters),
            Final = new FinalMetrics(outcome.SelectedValidation.Metric, outcome.SelectedTest.Metric, paramCount, nonzero,
                (double)nonzero / paramCount, nonzero == 0 ? double.PositiveInfinity : (double)paramCount / nonzero, outcome.SelectedStep)
            {
                PrunableRemainingFraction = outcome.SelectedRemainingFraction,
            },
            Selection = $"{outcome.Selection}; the run ended: {outcome.StopReason}",
            Layers = SparsityStatistics.PerLayer(masks),
            Trajectory = outcome.Trajectory,
            TestTrajectory = outcome.TestTrajectory,
            SizeResults = outcome.SizeResults,
            Divergences = outcome.Divergences,
            Timing = new TimingInfo(totalSeconds, Statistics.Median(stepTimes), denseSeconds, totalSeconds - denseSeconds)
            {
                TestTrajectorySeconds = outcome.TestTrajectorySeconds,
                EvaluationSeconds = outcome.EvaluationSeconds,
                CheckpointSeconds = outcome.CheckpointSeconds,
                TuningSeconds = outcome.TuningSeconds,
            },
            Metric = metric,
            Gate = outcome.Gate,
            Tuning = outcome.Tuning,
        };
    }

    /// <summary>Scalar parameters of a model.</summary>
    public static long Parameters(nn.Module model) => model.parameters().Sum(p => p.numel());
}
