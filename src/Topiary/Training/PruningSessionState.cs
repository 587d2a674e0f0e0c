using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Reporting;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Training;

public sealed partial class PruningSession
{
    /// <summary>
    /// The whole state of the session for a checkpoint: the model's parameters and buffers, the masks, the optimizer's
    /// state, the regularizer's, γ's position, the step count, the schedule's counters, the selected model, the
    /// learning-rate scheduler's position (<see cref="Scheduler"/>) and, unless <see cref="KeepsRandomState"/> is off,
    /// the random generator's state.
    /// </summary>
    /// <exception cref="InvalidOperationException">No optimizer is attached.</exception>
    public SessionCheckpoint Capture()
    {
        var counters = Counters();
        var state = new JsonObject
        {
            ["method"] = Method.Describe(),
            ["counters"] = JsonSerializer.SerializeToNode(counters, ReportJson.Options),
        };
        if (Scheduler is not null) state["scheduler"] = LearningRateScheduleState.Save(Scheduler);
        var tensors = CaptureTensors();
        if (KeepsRandomState) tensors["random/cpu"] = RandomGeneratorState.Save();
        return new SessionCheckpoint(state, tensors);
    }

    /// <summary>Puts the session, the model, the optimizer and the scheduler back in the state of <paramref name="checkpoint"/>.</summary>
    /// <exception cref="CheckpointException">The checkpoint belongs to another method, model, optimizer or schedule.</exception>
    public void Restore(SessionCheckpoint checkpoint)
    {
        var source = checkpoint.Source;
        var saved = checkpoint.State["method"]?.ToJsonString();
        var current = Method.Describe().ToJsonString();
        if (saved != current) throw new CheckpointException(source, $"the checkpoint's method is {saved ?? "missing"}, this session's {current}");
        SessionCounters counters;
        try
        {
            counters = checkpoint.State["counters"].Deserialize<SessionCounters>(ReportJson.Options)
                ?? throw new CheckpointException(source, "the checkpoint has no counters");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(source, $"the counters are damaged: {e.Message.Split('\n')[0]}", e);
        }
        RestoreTensors(checkpoint, counters, source);
        try
        {
            if (checkpoint.State["scheduler"] is JsonObject schedule)
            {
                if (Scheduler is null) throw new ArgumentException("the checkpoint holds a learning-rate schedule's position, but no Scheduler is set");
                LearningRateScheduleState.Load(Scheduler, schedule);
            }
            if (KeepsRandomState && checkpoint.Tensors.TryGetValue("random/cpu", out var random)) RandomGeneratorState.Load(random);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(source, e.Message.Split('\n')[0], e);
        }
    }

    /// <summary>The session's counters, for checkpoints.</summary>
    internal SessionCounters Counters()
    {
        var attached = RequireOptimizer();
        return new SessionCounters(context.Step, gamma.StepsSinceReset, attached.LearningRate, attached.StepCount, attached.Kind,
            Policy.Name, Policy.SaveState(), selection.ExportState())
        {
            Tuning = Tuner is null ? null : tuningHistory.ToList(),
        };
    }

    /// <summary>Copies of every tensor of the session's state (see <see cref="Capture"/>), without the random state.</summary>
    internal Dictionary<string, Tensor> CaptureTensors()
    {
        var attached = RequireOptimizer();
        var tensors = new Dictionary<string, Tensor>();
        using (no_grad())
        {
            using var module = ModuleState.Of(model);
            foreach (var (name, t) in module.Tensors) tensors[$"model/{name}"] = t.clone().DetachFromDisposeScope();
            // Masks travel as booleans (stored as bits), whatever dtype the model computes in.
            foreach (var e in Masks.Entries) tensors[$"mask/{e.Name}"] = e.Mask.ne(HeldScalar.Of(0)).DetachFromDisposeScope();
            foreach (var (name, t) in attached.SaveState()) tensors[$"optimizer/{name}"] = t;
            foreach (var (name, t) in Regularizer.SaveState(NamedParameters())) tensors[$"regularizer/{name}"] = t.DetachFromDisposeScope();
            foreach (var (name, t) in Importance.SaveState()) tensors[$"importance/{name}"] = t;
            foreach (var (name, t) in rewind?.SaveState() ?? []) tensors[$"rewind/{name}"] = t;
            foreach (var (name, t) in Tuner?.SaveState() ?? new Dictionary<string, Tensor>()) tensors[$"tuner/{name}"] = t.DetachFromDisposeScope();
            if (selection.Best is { } best)
            {
                foreach (var (name, t) in best.Tensors) tensors[$"best/model/{name}"] = t.clone().DetachFromDisposeScope();
                foreach (var (name, t) in best.Masks) tensors[$"best/mask/{name}"] = t.ne(HeldScalar.Of(0)).DetachFromDisposeScope();
            }
        }
        return tensors;
    }

    /// <summary>Puts back what <see cref="CaptureTensors"/> and <see cref="Counters"/> saved.</summary>
    /// <exception cref="CheckpointException">The tensors do not fit this model, these masks or this optimizer.</exception>
    internal void RestoreTensors(SessionCheckpoint checkpoint, SessionCounters counters, string source)
    {
        var attached = RequireOptimizer();
        if (counters.PolicyName != Policy.Name)
            throw new CheckpointException(source, $"the checkpoint's pruning policy is '{counters.PolicyName}', not '{Policy.Name}'");
        if (counters.OptimizerKind is { } kind && kind != attached.Kind)
            throw new CheckpointException(source, $"the checkpoint's optimizer is {kind}, this run's {attached.Kind}");
        try
        {
            var saved = checkpoint.WithPrefix("model/");
            if (ModuleState.Mismatch(saved, model) is { } mismatch) throw new ArgumentException($"model tensor {mismatch}");
            ModuleState.CopyInto(saved, model);
            Masks.CopyFrom(checkpoint.WithPrefix("mask/"));
            attached.LoadState(checkpoint.WithPrefix("optimizer/"), counters.OptimizerSteps);
            attached.SetLearningRate(counters.LearningRate);
            Policy.LoadState(counters.PolicyState);
            Regularizer.LoadState(NamedParameters(), checkpoint.WithPrefix("regularizer/"));
            // Checkpoints from before gradient criteria have no scores: the sums start again.
            Importance.LoadState(checkpoint.WithPrefix("importance/"));
            rewind?.LoadState(checkpoint.WithPrefix("rewind/"), model);
            Tuner?.LoadState(checkpoint.WithPrefix("tuner/"));
            RestoreTuningHistory(counters.Tuning ?? []);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            throw new CheckpointException(source, e.Message.Split('\n')[0], e);
        }
        // A checkpoint taken before the first evaluation has no selection yet.
        selection.Import(counters.Selection, counters.Selection.HasBest ? BestSnapshot(checkpoint, source) : null);
        gamma.StepsSinceReset = counters.GammaStepsSinceReset;
        context.Step = counters.Step;
    }

    private List<(string Name, Tensor Parameter)> NamedParameters() => model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    private ModelSnapshot BestSnapshot(SessionCheckpoint checkpoint, string source)
    {
        var saved = checkpoint.WithPrefix("best/model/");
        var bestMasks = checkpoint.WithPrefix("best/mask/");
        if (ModuleState.Mismatch(saved, model) is { } mismatch) throw new CheckpointException(source, $"the selected model's {mismatch}");
        foreach (var e in Masks.Entries)
            if (!bestMasks.TryGetValue(e.Name, out var t) || !t.shape.SequenceEqual(e.Mask.shape))
                throw new CheckpointException(source, $"the selected model's mask '{e.Name}' is missing or has the wrong shape");
        // The snapshot owns its tensors, the checkpoint owns its own: copy.
        return new ModelSnapshot(saved.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()),
            bestMasks.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()));
    }
}

/// <summary>The counters of a <see cref="PruningSession"/> in a checkpoint.</summary>
/// <param name="Step">Optimizer steps taken in the session.</param>
/// <param name="GammaStepsSinceReset">Steps since γ last restarted.</param>
/// <param name="LearningRate">The optimizer's learning rate (halved by recoveries from divergence).</param>
/// <param name="OptimizerSteps">The step count of a Topiary optimizer (TorchSharp's keep theirs in their own state).</param>
/// <param name="OptimizerKind">The optimizer's type; null in checkpoints from before it was recorded.</param>
/// <param name="PolicyName">The pruning schedule's name.</param>
/// <param name="PolicyState">What the schedule's <c>SaveState</c> returned.</param>
/// <param name="Selection">The selection's counters (its model is in the <c>best/</c> tensors).</param>
public sealed record SessionCounters(long Step, long GammaStepsSinceReset, double LearningRate, long OptimizerSteps, string? OptimizerKind,
    string PolicyName, JsonObject PolicyState, SelectionState Selection)
{
    /// <summary>The tuner's updates so far (its state is in the <c>tuner/</c> tensors); null when the strength is hand-set.</summary>
    public IReadOnlyList<Topiary.Tuning.TuningRecord>? Tuning { get; init; }
}
