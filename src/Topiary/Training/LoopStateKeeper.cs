using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Captures the whole mutable state of a <see cref="PruningLoop"/> run as a <see cref="TrainingCheckpoint"/>
/// and puts it back: model, masks, optimizer, regularizer state (e.g. power-iteration vectors), γ schedule,
/// counters, policy, selection, trajectory (the test points before pruning events travel in the checkpoint's
/// annotations).
/// No random generator state is kept: the loop draws no random numbers, its batch order is a function
/// of (seed, epoch). (libtorch's generator state is deliberately not restored from files: a forged
/// state with an out-of-range index makes libc10 read out of bounds and crash; the fuzz test found it.)
/// The loop's objects are shared with it, so a restore changes the run in place.
/// </summary>
internal sealed class LoopStateKeeper(
    nn.Module<Tensor, Tensor> model, PruningMasks masks, MaskableOptimizer optimizer, GradientRegularizer regularizer, GammaSchedule gamma,
    CheckpointSelection selection, PruningPolicy policy, PruningContext context, RunningMean recentLoss,
    List<TrajectoryPoint> trajectory, List<DivergenceEvent> divergences, PrePruningTests tests, PruningOptions options, JsonObject annotations)
{
    /// <summary>Rollbacks since the last evaluation that passed.</summary>
    public int ConsecutiveFailures { get; set; }

    /// <summary>Why the run ended; null while it runs.</summary>
    public string? StopReason { get; set; }

    public TrainingCheckpoint Capture()
    {
        var (lossSum, lossCount, lossLast) = recentLoss.Export();
        var state = new PruningLoopState
        {
            Options = options,
            StepsPerEpoch = context.StepsPerEpoch,
            Step = context.Step,
            GammaStepsSinceReset = gamma.StepsSinceReset,
            LearningRate = optimizer.LearningRate,
            OptimizerSteps = optimizer.StepCount,
            LossSum = lossSum,
            LossCount = lossCount,
            LossLast = lossLast,
            Trajectory = trajectory.ToList(),
            Divergences = divergences.ToList(),
            ConsecutiveFailures = ConsecutiveFailures,
            PolicyName = policy.Name,
            PolicyState = policy.SaveState(),
            Selection = selection.ExportState(),
            StopReason = StopReason,
            Annotations = tests.AddTo((JsonObject)annotations.DeepClone()),
        };
        var tensors = new Dictionary<string, Tensor>();
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters()) tensors[$"model/{name}"] = p.detach().clone().DetachFromDisposeScope();
            foreach (var e in masks.Entries) tensors[$"mask/{e.Name}"] = e.Mask.clone().DetachFromDisposeScope();
            foreach (var (name, t) in optimizer.StateBuffers()) tensors[$"optimizer/{name}"] = t.clone().DetachFromDisposeScope();
            foreach (var (name, t) in regularizer.SaveState(NamedParameters())) tensors[$"regularizer/{name}"] = t.DetachFromDisposeScope();
            if (selection.Best is { } best)
            {
                foreach (var (name, t) in best.Parameters) tensors[$"best/model/{name}"] = t.clone().DetachFromDisposeScope();
                foreach (var (name, t) in best.Masks) tensors[$"best/mask/{name}"] = t.clone().DetachFromDisposeScope();
            }
        }
        return new TrainingCheckpoint(state, tensors);
    }

    /// <summary>Puts the run back in the state of <paramref name="checkpoint"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">The checkpoint belongs to a run with other settings, model or data.</exception>
    public void Restore(TrainingCheckpoint checkpoint, string source)
    {
        var s = checkpoint.State;
        if (s.Options != options)
            throw new CheckpointException(source, "the checkpoint was written by a run with other settings");
        if (s.StepsPerEpoch != context.StepsPerEpoch)
            throw new CheckpointException(source, $"the checkpoint's run had {s.StepsPerEpoch} steps per epoch, this data gives {context.StepsPerEpoch}: not the same data set");
        if (!s.Selection.HasBest)
            throw new CheckpointException(source, "the checkpoint holds no selected model (every checkpoint is written after an evaluation)");
        if (s.PolicyName != policy.Name)
            throw new CheckpointException(source, $"the checkpoint's pruning policy is '{s.PolicyName}', not '{policy.Name}'");
        try
        {
            using (no_grad())
            {
                CopyInto(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), checkpoint.WithPrefix("model/"), "model/");
                CopyInto(masks.Entries.Select(e => (e.Name, e.Mask)), checkpoint.WithPrefix("mask/"), "mask/");
            }
            optimizer.LoadState(s.OptimizerSteps, checkpoint.WithPrefix("optimizer/"));
            optimizer.LearningRate = s.LearningRate;
            policy.LoadState(s.PolicyState);
            regularizer.LoadState(NamedParameters(), checkpoint.WithPrefix("regularizer/"));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            throw new CheckpointException(source, e.Message.Split('\n')[0], e);
        }
        selection.Import(s.Selection, s.Selection.HasBest ? BestSnapshot(checkpoint, source) : null);
        gamma.StepsSinceReset = s.GammaStepsSinceReset;
        context.Step = s.Step;
        recentLoss.Import(s.LossSum, s.LossCount, s.LossLast);
        trajectory.Clear();
        trajectory.AddRange(s.Trajectory);
        divergences.Clear();
        divergences.AddRange(s.Divergences);
        tests.LoadFrom(s.Annotations);
        ConsecutiveFailures = s.ConsecutiveFailures;
        StopReason = s.StopReason;
    }

    private List<(string Name, Tensor Parameter)> NamedParameters() => model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    private ModelSnapshot BestSnapshot(TrainingCheckpoint checkpoint, string source)
    {
        var parameters = checkpoint.WithPrefix("best/model/");
        var bestMasks = checkpoint.WithPrefix("best/mask/");
        var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        foreach (var (name, shape) in expected)
            if (!parameters.TryGetValue(name, out var t) || !t.shape.SequenceEqual(shape))
                throw new CheckpointException(source, $"the selected model lacks '{name}' or has the wrong shape");
        foreach (var e in masks.Entries)
            if (!bestMasks.TryGetValue(e.Name, out var t) || !t.shape.SequenceEqual(e.Mask.shape))
                throw new CheckpointException(source, $"the selected model's mask '{e.Name}' is missing or has the wrong shape");
        // The snapshot owns its tensors, the checkpoint owns its own: copy.
        return new ModelSnapshot(parameters.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()),
            bestMasks.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()));
    }

    private static void CopyInto(IEnumerable<(string Name, Tensor Target)> targets, Dictionary<string, Tensor> saved, string prefix)
    {
        var list = targets.ToList();
        if (saved.Count != list.Count) throw new ArgumentException($"the checkpoint holds {saved.Count} '{prefix}' tensors, the run has {list.Count}");
        foreach (var (name, target) in list)
        {
            if (!saved.TryGetValue(name, out var source)) throw new ArgumentException($"tensor '{prefix}{name}' is missing");
            if (!source.shape.SequenceEqual(target.shape))
                throw new ArgumentException($"tensor '{prefix}{name}' has shape [{string.Join(",", source.shape)}], expected [{string.Join(",", target.shape)}]");
            target.copy_(source);
        }
    }
}
