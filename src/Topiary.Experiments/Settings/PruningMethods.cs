using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Training;

namespace Topiary.Experiments;

/// <summary>
/// The bridge from the command line's flat <see cref="PruningOptions"/> to the method types: the method named by
/// <see cref="PruningOptions.Method"/> (<see cref="PruningMethodRegistry"/>) with the settings that apply to it, the
/// <c>--reg</c> terms, and a recipe's schedule, limits and ranking.
/// </summary>
public static class PruningMethods
{
    /// <summary>Every accepted method name.</summary>
    public static IReadOnlyList<string> Names => PruningMethodRegistry.Names;

    /// <summary>The competing methods, beyond the regularizer catalogue.</summary>
    public static IReadOnlyList<string> Competing => PruningMethodRegistry.Competing;

    /// <summary>
    /// The settings a method starts from on the command line when the user does not override them: LOBSTER's reference
    /// defaults (SGD, lr 0.1, no momentum, constant λ = 1e-4); HyperSparse with a constant base strength λ0 that ART
    /// multiplies, and a patience long enough for ART to finish; the others unchanged.
    /// </summary>
    public static PruningOptions Defaults(string method, PruningOptions baseline) => method switch
    {
        "lobster" => baseline with { Method = method, Optimizer = "sgd", LearningRate = 0.1, Momentum = 0, Gamma = 1e-4, GammaDecay = false },
        "hypersparse" => baseline with { Method = method, Gamma = 1e-4, GammaDecay = false, Patience = 1000 },
        "gmp" => baseline with { Method = method, Gamma = 0, GammaDecay = false },
        _ => baseline with { Method = method },
    };

    /// <summary>The method <paramref name="options"/> describe, as a type.</summary>
    /// <exception cref="ArgumentException">The method name is unknown, or the <c>--reg</c> list does not parse.</exception>
    public static PruningMethod FromOptions(PruningOptions options)
    {
        var method = PruningMethodRegistry.Create(options.Method) switch
        {
            RelevancePruning r => r with { Gamma = options.Gamma, Alpha = options.Alpha, GammaDecay = options.GammaDecay, CropFraction = options.CropFraction },
            MagnitudePruning m => m with { CropFraction = options.CropFraction },
            IterativeCropPruning i => i with { Gamma = options.Gamma, GammaDecay = options.GammaDecay, CropFraction = options.CropFraction },
            LobsterPruning l => l with { Lambda = options.Gamma, Twt = options.Twt, Pwe = options.Pwe },
            HyperSparsePruning h => h with { Lambda = options.Gamma, TargetSparsity = options.TargetSparsity, Growth = options.Growth },
            GradualMagnitudePruning g => g with { TargetSparsity = options.TargetSparsity },
            var other => other,
        };
        if (options.Regularizers is { } spec) method = method with { Extra = ExtraRegularizer.Parse(spec) };
        if (options.Recipe is { } recipe) method = method with { Schedule = recipe.Schedule, Limits = recipe.Limits, Ranking = recipe.Ranking };
        return method;
    }

    /// <summary>The settings the command line's <paramref name="options"/> describe, for a task whose metric goes the given way.</summary>
    public static PruningRunSettings Settings(PruningOptions options, bool higherIsBetter) => new()
    {
        Method = FromOptions(options),
        Bound = new MetricFloor(options.BoundFor(higherIsBetter), higherIsBetter),
        Epochs = options.Epochs,
        EvaluationInterval = options.EvalEvery,
        Patience = options.Patience,
        BatchSize = options.BatchSize,
        Seed = options.Seed,
        TestCurve = options.TestCurve,
        // A recipe's selector governs both what is pruned and what is regularized; without one, the two scopes of the options.
        Prunable = options.Recipe?.Selector ?? new LayerSelector { Scope = options.PrunedScope },
        Regularized = options.Recipe is null ? new LayerSelector { Scope = options.RegularizedScope } : null,
        Optimizer = parameters => OptimizerAccess.Of(OptimizerFactory.Create(options, parameters), owns: true),
    };


    /// <summary>
    /// The options as the JSON a <see cref="PruningLoop"/> records in its checkpoints, which a resumed run must match:
    /// every field but the recipe (whose lists would compare by reference; the method as built records its parts).
    /// </summary>
    public static System.Text.Json.Nodes.JsonObject RunOptions(PruningOptions options) =>
        System.Text.Json.JsonSerializer.SerializeToNode(options with { Recipe = null }, Reporting.ReportJson.Options)!.AsObject();

    /// <summary>
    /// A <see cref="PruningLoop"/> run with the flat options: validated, turned into settings for the task's metric, and
    /// recorded in the loop's checkpoints (<see cref="RunOptions"/>).
    /// </summary>
    /// <exception cref="PruningOptionException">A value is out of range.</exception>
    public static PruningLoop Loop(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model, ITrainingTask task, PruningOptions options,
        Microsoft.Extensions.Logging.ILogger? logger = null, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>? initialMasks = null,
        CheckpointOptions? checkpoints = null)
    {
        options.Validate();
        return new PruningLoop(model, task, Settings(options, task.Metric.HigherIsBetter), logger, initialMasks, RunOptions(options))
        {
            Checkpoints = checkpoints ?? new CheckpointOptions(),
        };
    }
}
