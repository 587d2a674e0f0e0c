using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Regularization;

namespace Topiary.Training;

/// <summary>
/// The pruning methods a run can use by name: the flagship (<c>relevance</c>) and its regularizer
/// baselines with the iterative-fraction rule (<see cref="RegularizerCatalog"/>), and the competing
/// methods, each a regularizer plus its own schedule:
/// <c>lobster</c> (<see cref="LobsterShrinkage"/> + <see cref="LobsterPolicy"/>),
/// <c>hypersparse</c> (<see cref="HyperSparsePenalty"/> + <see cref="AdaptiveRegularizationPolicy"/>) and
/// <c>gmp</c> (no regularizer + <see cref="GradualMagnitudePolicy"/>).
/// </summary>
public static class PruningMethods
{
    /// <summary>The competing methods, beyond the regularizer catalogue.</summary>
    public static IReadOnlyList<string> Competing { get; } = new[] { "lobster", "hypersparse", "gmp" };

    /// <summary>Every accepted method name.</summary>
    public static IReadOnlyList<string> Names => RegularizerCatalog.Names.Concat(Competing).ToList();

    /// <summary>
    /// The settings a method starts from when the user does not override them: LOBSTER's reference
    /// defaults (SGD, lr 0.1, no momentum, constant λ = 1e-4); HyperSparse with a constant base strength
    /// λ0 that ART multiplies, and a patience long enough for ART to finish; the others unchanged.
    /// </summary>
    public static PruningOptions Defaults(string method, PruningOptions baseline) => method switch
    {
        "lobster" => baseline with { Method = method, Optimizer = "sgd", LearningRate = 0.1, Momentum = 0, Gamma = 1e-4, GammaDecay = false },
        "hypersparse" => baseline with { Method = method, Gamma = 1e-4, GammaDecay = false, Patience = 1000 },
        "gmp" => baseline with { Method = method, Gamma = 0, GammaDecay = false },
        _ => baseline with { Method = method },
    };

    /// <summary>The regularizer of <paramref name="options"/>' method over the pruned parameters.</summary>
    public static GradientRegularizer CreateRegularizer(PruningOptions options, PruningMasks masks) => options.Method switch
    {
        "lobster" => new LobsterShrinkage(),
        "hypersparse" => new HyperSparsePenalty(masks.Entries.Where(e => e.Parameter.dim() >= 2).Select(e => (TorchSharp.torch.Tensor)e.Parameter).ToList(), options.TargetSparsity),
        "gmp" => new NoRegularization(),
        _ => RegularizerCatalog.Create(options.Method, options.Alpha),
    };

    /// <summary>
    /// The pruning schedule of the method. GMP prunes every E steps from step 0 to two thirds of the step
    /// budget (then fine-tunes); ART checks once per epoch.
    /// </summary>
    public static PruningPolicy CreatePolicy(PruningOptions options, GradientRegularizer regularizer, int stepsPerEpoch, bool higherIsBetter) => options.Method switch
    {
        "lobster" => new LobsterPolicy(options.Twt, options.Pwe),
        "hypersparse" => new AdaptiveRegularizationPolicy((HyperSparsePenalty)regularizer, options.Growth, stepsPerEpoch, higherIsBetter),
        "gmp" => new GradualMagnitudePolicy(new PolynomialSparsitySchedule(0, options.TargetSparsity, 0,
            Math.Max(1, (int)(2L * stepsPerEpoch * options.Epochs / 3 / options.EvalEvery)), options.EvalEvery)),
        _ => new IterativeFractionPolicy(options.CropFraction),
    };
}
