using Topiary.Regularization;
using Topiary.Reporting;
using Topiary.Pruning;

namespace Topiary.Training;

/// <summary>What the pruning phase produced; the model and masks are left in the selected state.</summary>
/// <param name="Trajectory">One point per evaluation, the first one before any pruning.</param>
/// <param name="SelectedStep">Step of the selected checkpoint.</param>
/// <param name="SelectedValidation">Validation metrics of the selected checkpoint.</param>
/// <param name="SelectedRemainingFraction">Its remaining fraction of prunable parameters.</param>
/// <param name="Selection">Why that checkpoint was chosen, in one sentence.</param>
/// <param name="StopReason">Why the phase ended.</param>
/// <param name="StepMilliseconds">Wall-clock time of every training step.</param>
public sealed record PruningOutcome(
    IReadOnlyList<TrajectoryPoint> Trajectory,
    long SelectedStep,
    EvaluationResult SelectedValidation,
    double SelectedRemainingFraction,
    string Selection,
    string StopReason,
    IReadOnlyList<double> StepMilliseconds)
{
    /// <summary>Recoveries from a non-finite loss or gradient (rollback, halved learning rate).</summary>
    public IReadOnlyList<DivergenceEvent> Divergences { get; init; } = [];

    /// <summary>Test metrics of the selected model, measured after the run (reporting only).</summary>
    public EvaluationResult SelectedTest { get; init; }

    /// <summary>Test metric before each pruning event, then of the selected model (<see cref="TestTrajectory.EndingAt"/>).</summary>
    public IReadOnlyList<TestPoint> TestTrajectory { get; init; } = [];

    /// <summary>Wall-clock time the test trajectory cost (weight copies and test evaluations), to show it is small.</summary>
    public double TestTrajectorySeconds { get; init; }

    /// <summary>The sizes of <see cref="PruningRunSettings.Sizes"/> the run crossed, measured by the protocol; null without it.</summary>
    public IReadOnlyList<SizeResult>? SizeResults { get; init; }

    /// <summary>Wall-clock time the size-for-size protocol cost (copies, fine-tuning, evaluations).</summary>
    public double SizeSeconds { get; init; }

    /// <summary>Wall-clock time of the validation passes.</summary>
    public double EvaluationSeconds { get; init; }

    /// <summary>Wall-clock time training waited for checkpoints: capturing the state, and waiting for the disk where it had to.</summary>
    public double CheckpointSeconds { get; init; }

    /// <summary>The relevance gate per prunable tensor at each evaluation; null for methods without it.</summary>
    public GateTrace? Gate { get; init; }

    /// <summary>The updates of a tuned strength (<see cref="Methods.PruningMethod.Tuning"/>); null when the strength is hand-set.</summary>
    public IReadOnlyList<Topiary.Tuning.TuningRecord>? Tuning { get; init; }

    /// <summary>Wall-clock time of the tuning updates.</summary>
    public double TuningSeconds { get; init; }
}
