using System.Text.Json.Nodes;
using Topiary.Reporting;
using Topiary.Training;

namespace Topiary.Training;

/// <summary>
/// Everything of a pruning run at a step boundary that is not a tensor: counters, schedule and policy
/// state, the result selection, the trajectory so far and the recoveries from divergence. Together
/// with the tensors of a <see cref="TrainingCheckpoint"/> it lets a run continue exactly where it was.
/// </summary>
public sealed record PruningLoopState
{
    /// <summary>The layout of this state (<see cref="PruningLoopStateMigration.CurrentVersion"/>); older layouts are migrated on load.</summary>
    public int StateVersion { get; init; } = PruningLoopStateMigration.CurrentVersion;
    /// <summary>The caller's own settings of the run as JSON (a command line's), if it gave any; a resume with other settings is refused.</summary>
    public required JsonObject? Options { get; init; }
    /// <summary>
    /// The run's settings as canonical text (the options, the method as built and a recipe's selector), which a resume
    /// must match; null in checkpoints written before it existed (then <see cref="Options"/> is compared).
    /// </summary>
    public string? RunIdentity { get; init; }
    /// <summary>Optimizer steps in one epoch; differs when the data set differs.</summary>
    public required int StepsPerEpoch { get; init; }
    /// <summary>Training steps of the pruning phase taken so far.</summary>
    public required long Step { get; init; }
    /// <summary>Steps since γ last restarted.</summary>
    public required long GammaStepsSinceReset { get; init; }
    /// <summary>Current learning rate (halved by each recovery from divergence).</summary>
    public required double LearningRate { get; init; }
    /// <summary>The optimizer's step count (Adam's bias correction depends on it).</summary>
    public required long OptimizerSteps { get; init; }
    /// <summary>Sum of the training losses since the last progress report.</summary>
    public required double LossSum { get; init; }
    /// <summary>Number of losses in <see cref="LossSum"/>.</summary>
    public required int LossCount { get; init; }
    /// <summary>The last reported mean training loss.</summary>
    public required double LossLast { get; init; }
    /// <summary>One point per evaluation so far.</summary>
    public required IReadOnlyList<TrajectoryPoint> Trajectory { get; init; }
    /// <summary>Recoveries from divergence so far.</summary>
    public required IReadOnlyList<DivergenceEvent> Divergences { get; init; }
    /// <summary>Recoveries since the last evaluation that passed.</summary>
    public required int ConsecutiveFailures { get; init; }
    /// <summary>Name of the pruning policy.</summary>
    public required string PolicyName { get; init; }
    /// <summary>What the policy's <c>SaveState</c> returned.</summary>
    public required JsonObject PolicyState { get; init; }
    /// <summary>The result selection so far (its model is in the <c>best/</c> tensors).</summary>
    public required SelectionState Selection { get; init; }
    /// <summary>Why the run ended, once it has; null while it runs.</summary>
    public string? StopReason { get; init; }
    /// <summary>Data the caller keeps with the run (e.g. the dense model's metrics).</summary>
    public JsonObject Annotations { get; init; } = new();
}

/// <summary>The state of the result selection: the chosen checkpoint's step and metrics, and the patience counter.</summary>
/// <param name="HasBest">Whether a checkpoint was selected yet.</param>
/// <param name="Step">Its step.</param>
/// <param name="RemainingFraction">Its remaining fraction.</param>
/// <param name="Metric">Its validation metric.</param>
/// <param name="Loss">Its validation loss.</param>
/// <param name="MeetsBound">Whether it meets the bound.</param>
/// <param name="EvaluationsWithoutProgress">Evaluations since the selection last improved.</param>
public sealed record SelectionState(bool HasBest, long Step, double RemainingFraction, double Metric, double Loss, bool MeetsBound, int EvaluationsWithoutProgress);
