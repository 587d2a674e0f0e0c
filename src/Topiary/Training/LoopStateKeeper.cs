using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Captures the whole mutable state of a <see cref="PruningLoop"/> run as a <see cref="TrainingCheckpoint"/> and puts
/// it back: the session's state (model with buffers, masks, optimizer, regularizer, γ, step, schedule, selection;
/// <see cref="PruningSession.CaptureTensors"/>), and the loop's own counters, trajectory, recoveries, test points, size-for-size results and gate statistics
/// (in the checkpoint's annotations). No random generator state is kept: the loop draws no random numbers, its batch
/// order is a function of (seed, epoch), and the catalogue's models have no dropout.
/// The loop's objects are shared with it, so a restore changes the run in place.
/// </summary>
internal sealed class LoopStateKeeper(
    PruningSession session, RunningMean recentLoss, List<TrajectoryPoint> trajectory, List<DivergenceEvent> divergences,
    PrePruningTests tests, SizeForSizeProbe sizes, GateRecorder gates, JsonObject? runOptions, string runIdentity, JsonObject annotations, Func<JsonObject, JsonObject>? upgradeRecorded)
{
    /// <summary>Rollbacks since the last evaluation that passed.</summary>
    public int ConsecutiveFailures { get; set; }

    /// <summary>Why the run ended; null while it runs.</summary>
    public string? StopReason { get; set; }

    public TrainingCheckpoint Capture()
    {
        var (lossSum, lossCount, lossLast) = recentLoss.Export();
        var counters = session.Counters();
        var state = new PruningLoopState
        {
            Options = (JsonObject?)runOptions?.DeepClone(),
            RunIdentity = runIdentity,
            StepsPerEpoch = session.Context.StepsPerEpoch,
            Step = counters.Step,
            GammaStepsSinceReset = counters.GammaStepsSinceReset,
            LearningRate = counters.LearningRate,
            OptimizerSteps = counters.OptimizerSteps,
            LossSum = lossSum,
            LossCount = lossCount,
            LossLast = lossLast,
            Trajectory = trajectory.ToList(),
            Divergences = divergences.ToList(),
            ConsecutiveFailures = ConsecutiveFailures,
            PolicyName = counters.PolicyName,
            PolicyState = counters.PolicyState,
            Selection = counters.Selection,
            StopReason = StopReason,
            Annotations = gates.AddTo(sizes.AddTo(tests.AddTo((JsonObject)annotations.DeepClone()))),
        };
        return new TrainingCheckpoint(state, session.CaptureTensors());
    }

    /// <summary>Puts the run back in the state of <paramref name="checkpoint"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">The checkpoint belongs to a run with other settings, model or data.</exception>
    public void Restore(TrainingCheckpoint checkpoint, string source)
    {
        var s = checkpoint.State;
        if (!SameRun(s))
            throw new CheckpointException(source, "the checkpoint was written by a run with other settings");
        if (!s.Selection.HasBest)
            throw new CheckpointException(source, "the checkpoint holds no selected model (every checkpoint is written after an evaluation)");
        if (s.StepsPerEpoch != session.Context.StepsPerEpoch)
            throw new CheckpointException(source, $"the checkpoint's run had {s.StepsPerEpoch} steps per epoch, this data gives {session.Context.StepsPerEpoch}: not the same data set");
        var counters = new SessionCounters(s.Step, s.GammaStepsSinceReset, s.LearningRate, s.OptimizerSteps, OptimizerKind: null,
            s.PolicyName, s.PolicyState, s.Selection);
        // A view: the tensors belong to the training checkpoint, which the caller disposes.
        var view = new SessionCheckpoint(new JsonObject(), new Dictionary<string, Tensor>(checkpoint.Tensors), source) { OwnsTensors = false };
        session.RestoreTensors(view, counters, source);
        recentLoss.Import(s.LossSum, s.LossCount, s.LossLast);
        trajectory.Clear();
        trajectory.AddRange(s.Trajectory);
        divergences.Clear();
        divergences.AddRange(s.Divergences);
        tests.LoadFrom(s.Annotations);
        sizes.LoadFrom(s.Annotations);
        gates.LoadFrom(s.Annotations);
        ConsecutiveFailures = s.ConsecutiveFailures;
        StopReason = s.StopReason;
    }

    /// <summary>
    /// Whether the checkpoint's run had this run's settings, compared as canonical text (records holding lists, a
    /// recipe's, would compare lists by reference). The caller's recorded options are first brought to today's form:
    /// older versions recorded them in another layout, and the identity begins with them.
    /// </summary>
    private bool SameRun(PruningLoopState s)
    {
        var recorded = s.Options is null || upgradeRecorded is null ? s.Options : upgradeRecorded((JsonObject)s.Options.DeepClone());
        if (s.RunIdentity is null) return recorded is not null && runOptions is not null && Identity(recorded) == Identity(runOptions);
        if (recorded is null) return s.RunIdentity == runIdentity;
        var asRecorded = Identity(s.Options!);
        return s.RunIdentity.StartsWith(asRecorded, StringComparison.Ordinal) && Identity(recorded) + s.RunIdentity[asRecorded.Length..] == runIdentity;
    }

    /// <summary>A caller's run options as canonical text.</summary>
    public static string Identity(JsonObject runOptions) => runOptions.ToJsonString(ReportJson.Options);
}
