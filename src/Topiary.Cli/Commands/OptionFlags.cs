using Topiary.Methods;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary>
/// The command line's names for the library's settings: the library names a setting by its type and property
/// (<c>PruningOptions.CropFraction</c>, <c>RelevancePruning.Alpha</c>), the user typed a flag (<c>--crop-fraction</c>).
/// </summary>
internal static class OptionFlags
{
    private static readonly Dictionary<string, string> ByProperty = new()
    {
        [nameof(MethodSettings.Regularizers)] = "--reg",
        [nameof(PruningMethod.Extra)] = "--reg",
        [nameof(MethodSettings.Gamma)] = "--gamma",
        [nameof(LobsterPruning.Lambda)] = "--gamma",
        [nameof(MethodSettings.Alpha)] = "--alpha",
        [nameof(MethodSettings.AlphaQuantile)] = "--alpha",
        [nameof(MethodSettings.Signal)] = "--signal",
        [nameof(MethodSettings.Decay)] = "--decay",
        [nameof(MethodSettings.Criterion)] = "--criterion",
        [nameof(MethodSettings.Pattern)] = "--pattern",
        [nameof(MethodSettings.RewindStep)] = "--rewind",
        [nameof(MethodSettings.MaxSparsity)] = "--max-sparsity",
        [nameof(SemiStructuredPruning.N)] = "--pattern",
        [nameof(SemiStructuredPruning.M)] = "--pattern",
        [nameof(MethodSettings.GammaDecay)] = "--no-gamma-decay",
        [nameof(MethodSettings.CropFraction)] = "--crop-fraction",
        [nameof(MethodSettings.TargetSparsity)] = "--target-sparsity",
        [nameof(MethodSettings.Twt)] = "--twt",
        [nameof(MethodSettings.Pwe)] = "--pwe",
        [nameof(MethodSettings.Growth)] = "--growth",
        [nameof(MethodSettings.Tuning)] = "--tune",
        [nameof(PruningOptions.Method)] = "--method",
        [nameof(PruningOptions.Floor)] = "--floor",
        [nameof(PruningOptions.Ceiling)] = "--ceiling",
        [nameof(PruningOptions.EvalEvery)] = "--eval-every",
        [nameof(PruningSessionSettings.EvaluationInterval)] = "--eval-every",
        [nameof(PruningOptions.Patience)] = "--patience",
        [nameof(PruningOptions.DenseEpochs)] = "--dense-epochs",
        [nameof(PruningOptions.DenseSchedule)] = "--dense-schedule",
        [nameof(PruningOptions.Epochs)] = "--epochs",
        [nameof(PruningOptions.BatchSize)] = "--batch-size",
        [nameof(PruningOptions.Optimizer)] = "--optimizer",
        [nameof(OptimizerOptions.LearningRate)] = "--lr",
        [nameof(SgdOptions.Momentum)] = "--momentum",
    };

    /// <summary>The flag of <paramref name="property"/>, or the property's own name where the command line has no flag for it.</summary>
    public static string Of(string property) => ByProperty.TryGetValue(property, out var flag) ? flag : property;

    /// <summary>The one line the user sees for a library's refusal of a setting: the flag, then the reason.</summary>
    public static string Message(Exception e) => e switch
    {
        PruningOptionException o => $"{Of(o.Property)}: {o.Reason}",
        PruningMethodException m => $"{Of(m.Property)}: {m.Reason}",
        _ => e.Message,
    };
}
