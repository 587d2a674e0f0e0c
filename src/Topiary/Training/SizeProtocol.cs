using Topiary.Methods;

namespace Topiary.Training;

/// <summary>
/// The size-for-size protocol: methods compared at the same model sizes after the same fine-tuning, not at whatever size
/// and regularizer strength each happens to be when it is measured. Whenever a pruning event of the run crosses one of
/// <see cref="Sizes"/> (remaining non-zero parameters over all parameters), the model right before the event (trained at
/// its current sparsity) is cropped by global magnitude to exactly that size, fine-tuned for
/// <see cref="FineTuneSteps"/> steps with the regularizer off and the mask fixed (Adam at
/// <see cref="LearningRate"/>, the run's batch size and batch order), and its validation and test metrics are recorded
/// (<see cref="Reporting.SizeResult"/>). The run then continues exactly as it would have without the measurement. Every method
/// gets the same crop rule and the same fine-tuning, so that what differs at a size is the weights each method's
/// trajectory left there.
/// </summary>
/// <param name="Sizes">Target remaining fractions, each in (0, 1), largest first (e.g. 0.1, 0.05, 0.02, 0.01, 0.005).</param>
/// <param name="FineTuneSteps">Optimizer steps of fine-tuning at each size (0 measures the crop as it is).</param>
public sealed record SizeProtocol(IReadOnlyList<double> Sizes, int FineTuneSteps)
{
    /// <summary>The sizes of the protocol as issue 16 of Topiary states it: 10 %, 5 %, 2 %, 1 % and 0.5 % remaining.</summary>
    public static IReadOnlyList<double> DefaultSizes { get; } = [0.1, 0.05, 0.02, 0.01, 0.005];

    /// <summary>Adam's learning rate during the fine-tuning. Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="PruningMethodException">A size is outside (0, 1) or out of order, or a count is negative.</exception>
    public void Validate()
    {
        Require(Sizes.Count > 0, nameof(Sizes), "at least one size is needed");
        Require(Sizes.All(s => s > 0 && s < 1), nameof(Sizes), $"each size must lie in (0, 1), got {string.Join(", ", Sizes)}");
        Require(Sizes.Zip(Sizes.Skip(1)).All(p => p.First > p.Second), nameof(Sizes), "sizes must be distinct and given largest first");
        Require(FineTuneSteps >= 0, nameof(FineTuneSteps), $"must be ≥ 0, got {FineTuneSteps}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), $"must be positive, got {LearningRate}");
    }

    private static void Require(bool condition, string property, string reason)
    {
        if (!condition) throw new PruningMethodException(nameof(SizeProtocol), property, reason);
    }
}
