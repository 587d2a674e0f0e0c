using System.Text.Json.Nodes;
using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Training;

namespace Topiary.Experiments;

/// <summary>
/// Methods by name for experiments: each method's own defaults (<see cref="Defaults"/>), the options of a run of a
/// named method (<see cref="Create"/>), and the bridge from <see cref="PruningOptions"/> to a <see cref="PruningLoop"/>.
/// </summary>
public static class PruningMethods
{
    /// <summary>Every accepted method name.</summary>
    public static IReadOnlyList<string> Names => PruningMethodRegistry.Names;

    /// <summary>The competing methods, beyond the regularizer catalogue.</summary>
    public static IReadOnlyList<string> Competing => PruningMethodRegistry.Competing;

    /// <summary>
    /// The settings a method starts from when the user does not override them: LOBSTER's reference defaults (SGD, lr
    /// 0.1, no momentum, constant λ = 1e-4); HyperSparse with a constant base strength λ0 that ART multiplies, and a
    /// patience long enough for ART to finish; gmp without a regularizer; the others unchanged. The method's settings
    /// come out as <see cref="MethodSettings"/> over <paramref name="methodDefaults"/> (a model's or preset's), the
    /// training settings as <paramref name="baseline"/> with the method's own.
    /// </summary>
    public static (PruningOptions Options, MethodSettings Settings) Defaults(string method, PruningOptions baseline, MethodSettings methodDefaults) => method switch
    {
        "lobster" => (baseline with { Optimizer = new SgdOptions { LearningRate = 0.1, Momentum = 0 } },
            new MethodSettings { Gamma = 1e-4, GammaDecay = false }.Over(methodDefaults)),
        "hypersparse" => (baseline with { Patience = 1000 }, new MethodSettings { Gamma = 1e-4, GammaDecay = false }.Over(methodDefaults)),
        "gmp" => (baseline, new MethodSettings { Gamma = 0, GammaDecay = false }.Over(methodDefaults)),
        _ => (baseline, methodDefaults),
    };

    /// <summary>
    /// The options of a run of <paramref name="method"/>: <paramref name="defaults"/>' training settings with the
    /// method's own (<see cref="Defaults"/>), and the method built from its registered defaults with, from lowest to
    /// highest, the defaults' method settings, the method's own, and <paramref name="given"/>.
    /// </summary>
    /// <exception cref="PruningOptionException">The method is not registered, or the <c>--reg</c> list does not parse.</exception>
    public static PruningOptions Create(string method, PruningDefaults defaults, MethodSettings? given = null)
    {
        if (!Names.Contains(method))
            throw new PruningOptionException(nameof(PruningOptions.Method), $"unknown method '{method}' (expected one of: {string.Join(", ", Names)})");
        var (options, settings) = Defaults(method, defaults.Options, defaults.Method);
        if (given is not null) settings = given.Over(settings);
        return options with { Method = settings.ApplyTo(PruningMethodRegistry.Create(method)) };
    }

    /// <summary>The settings the command line's <paramref name="options"/> describe, for a task whose metric goes the given way.</summary>
    public static PruningRunSettings Settings(PruningOptions options, bool higherIsBetter) => new()
    {
        Method = options.Method,
        Bound = new MetricFloor(options.BoundFor(higherIsBetter), higherIsBetter),
        Epochs = options.Epochs,
        EvaluationInterval = options.EvalEvery,
        Patience = options.Patience,
        BatchSize = options.BatchSize,
        Seed = options.Seed,
        TestCurve = options.TestCurve,
        Sizes = options.Sizes,
        // A recipe's selector governs both what is pruned and what is regularized; without one, the two scopes of the options.
        Prunable = options.Selector ?? new LayerSelector { Scope = options.PrunedScope },
        Regularized = options.Selector is null ? new LayerSelector { Scope = options.RegularizedScope } : null,
        Optimizer = parameters => OptimizerAccess.Of(options.Optimizer.Create(parameters), owns: true),
    };

    /// <summary>
    /// Brings settings a checkpoint recorded to the canonical form of <see cref="PruningOptions.Describe"/>, so that a
    /// resumed run compares with them: today's form is returned as it is; the flat layout of Topiary 0.1.0
    /// (<see cref="PruningOptionsV1"/>) becomes today's options for the same run. That layout left the recipe out, so its
    /// schedule and selector are taken from <paramref name="current"/>, as 0.1.0 compared them.
    /// </summary>
    public static JsonObject UpgradeRecorded(JsonObject recorded, PruningOptions current)
    {
        if (!PruningOptionsV1.Holds(recorded)) return recorded;
        var options = PruningOptionsV1.ToOptions(recorded);
        return (options with
        {
            Method = options.Method with { Schedule = current.Method.Schedule, Limits = current.Method.Limits, Ranking = current.Method.Ranking },
            Selector = current.Selector,
        }).Describe();
    }

    /// <summary>
    /// A <see cref="PruningLoop"/> run with <paramref name="options"/>: validated, turned into settings for the task's
    /// metric, and recorded in the loop's checkpoints in canonical form (<see cref="PruningOptions.Describe"/>).
    /// </summary>
    /// <exception cref="PruningOptionException">A value is out of range.</exception>
    /// <exception cref="PruningMethodException">A setting of the method is out of range.</exception>
    public static PruningLoop Loop(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model, ITrainingTask task, PruningOptions options,
        Microsoft.Extensions.Logging.ILogger? logger = null, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>? initialMasks = null,
        CheckpointOptions? checkpoints = null)
    {
        options.Validate();
        return new PruningLoop(model, task, Settings(options, task.Metric.HigherIsBetter), logger, initialMasks, options.Describe())
        {
            Checkpoints = checkpoints ?? new CheckpointOptions(),
            UpgradeRecordedOptions = recorded => UpgradeRecorded(recorded, options),
        };
    }
}
