using Topiary.Checkpoints;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Keeps the result of a pruning run as it goes: the checkpoint with the fewest remaining parameters
/// whose validation metric meets the bound (ties: the better metric); until one meets it, the
/// checkpoint with the best metric. Counts evaluations since the selection last improved (patience).
/// </summary>
internal sealed class CheckpointSelection(MetricFloor floor) : IDisposable
{
    private ModelSnapshot? best;

    public long Step { get; private set; }
    public double RemainingFraction { get; private set; } = double.PositiveInfinity;
    public EvaluationResult Validation { get; private set; } = new(floor.Worst, double.PositiveInfinity);
    public bool MeetsBound { get; private set; }
    public int EvaluationsWithoutProgress { get; private set; }

    /// <summary>Considers the model as it is now; snapshots it when it becomes the selection.</summary>
    public void Offer(nn.Module model, PruningMasks masks, long step, double remaining, EvaluationResult validation)
    {
        var meets = floor.IsMetBy(validation.Metric);
        var better = meets
            ? !MeetsBound || remaining < RemainingFraction || (remaining == RemainingFraction && floor.IsBetter(validation.Metric, Validation.Metric))
            : !MeetsBound && floor.IsBetter(validation.Metric, Validation.Metric);
        if (!better)
        {
            EvaluationsWithoutProgress++;
            return;
        }
        best?.Dispose();
        best = new ModelSnapshot(model, masks);
        Step = step;
        RemainingFraction = remaining;
        Validation = validation;
        MeetsBound = meets;
        EvaluationsWithoutProgress = 0;
    }

    /// <summary>The selection's counters for a checkpoint; its model is <see cref="Best"/>.</summary>
    public SelectionState ExportState() =>
        new(best is not null, Step, RemainingFraction, Validation.Metric, Validation.Loss, MeetsBound, EvaluationsWithoutProgress);

    /// <summary>The selected model and masks, if any.</summary>
    public ModelSnapshot? Best => best;

    /// <summary>Restores the selection from a checkpoint, taking ownership of <paramref name="snapshot"/>.</summary>
    public void Import(SelectionState state, ModelSnapshot? snapshot)
    {
        best?.Dispose();
        best = snapshot;
        Step = state.Step;
        RemainingFraction = state.RemainingFraction;
        Validation = new EvaluationResult(state.Metric, state.Loss);
        MeetsBound = state.MeetsBound;
        EvaluationsWithoutProgress = state.EvaluationsWithoutProgress;
    }

    public void RestoreBest(nn.Module model, PruningMasks masks)
    {
        if (best is null) throw new InvalidOperationException("no checkpoint was offered");
        best.RestoreInto(model, masks);
    }

    public string Describe(string metric) => MeetsBound
        ? $"the checkpoint with the fewest prunable parameters left ({Percent.Of(RemainingFraction)} prunable remaining) whose validation {metric} ({Format(Validation.Metric)}) meets the bound {Format(floor.Bound)}, at step {Step}"
        : $"no checkpoint met the bound {Format(floor.Bound)}; the one with the best validation {metric} ({Format(Validation.Metric)}, {Percent.Of(RemainingFraction)} prunable remaining, step {Step}) is reported";

    private string Format(double value) => floor.HigherIsBetter && value is >= 0 and <= 1
        ? Percent.Of(value)
        : value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => best?.Dispose();
}
