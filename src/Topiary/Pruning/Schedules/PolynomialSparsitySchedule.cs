namespace Topiary.Pruning.Schedules;

/// <summary>
/// The gradual pruning schedule of Zhu and Gupta, "To prune, or not to prune" (arXiv 1710.01878):
/// pruning steps at t = t0, t0 + Δt, …, t0 + nΔt, with target sparsity
/// s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(nΔt))³, so sparsity rises fast while the network is redundant
/// and slowly near the final sparsity s_f.
/// </summary>
public sealed record PolynomialSparsitySchedule
{
    /// <summary>Creates the schedule; throws when a value is out of range.</summary>
    /// <param name="initialSparsity">s_i, in [0, 1).</param>
    /// <param name="finalSparsity">s_f, in [s_i, 1).</param>
    /// <param name="startStep">t0, ≥ 0.</param>
    /// <param name="pruningSteps">n, ≥ 1.</param>
    /// <param name="frequency">Δt, ≥ 1 optimizer steps.</param>
    public PolynomialSparsitySchedule(double initialSparsity, double finalSparsity, long startStep, int pruningSteps, long frequency)
    {
        if (!(initialSparsity is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(initialSparsity), initialSparsity, "s_i must lie in [0, 1)");
        if (!(finalSparsity >= initialSparsity && finalSparsity < 1)) throw new ArgumentOutOfRangeException(nameof(finalSparsity), finalSparsity, "s_f must lie in [s_i, 1)");
        if (startStep < 0) throw new ArgumentOutOfRangeException(nameof(startStep), startStep, "t0 must be ≥ 0");
        if (pruningSteps < 1) throw new ArgumentOutOfRangeException(nameof(pruningSteps), pruningSteps, "n must be ≥ 1");
        if (frequency < 1) throw new ArgumentOutOfRangeException(nameof(frequency), frequency, "Δt must be ≥ 1");
        InitialSparsity = initialSparsity;
        FinalSparsity = finalSparsity;
        StartStep = startStep;
        PruningSteps = pruningSteps;
        Frequency = frequency;
    }

    /// <summary>s_i.</summary>
    public double InitialSparsity { get; }
    /// <summary>s_f.</summary>
    public double FinalSparsity { get; }
    /// <summary>t0.</summary>
    public long StartStep { get; }
    /// <summary>n.</summary>
    public int PruningSteps { get; }
    /// <summary>Δt.</summary>
    public long Frequency { get; }

    /// <summary>Last pruning step, t0 + nΔt.</summary>
    public long EndStep => StartStep + PruningSteps * Frequency;

    /// <summary>s_t, clamped to s_i before t0 and to s_f after t0 + nΔt.</summary>
    public double SparsityAt(long step)
    {
        if (step <= StartStep) return InitialSparsity;
        if (step >= EndStep) return FinalSparsity;
        var progress = (double)(step - StartStep) / (PruningSteps * Frequency);
        return FinalSparsity + (InitialSparsity - FinalSparsity) * Math.Pow(1 - progress, 3);
    }

    /// <summary>True at t0 + kΔt for k = 0..n.</summary>
    public bool IsPruningStep(long step) => step >= StartStep && step <= EndStep && (step - StartStep) % Frequency == 0;
}
