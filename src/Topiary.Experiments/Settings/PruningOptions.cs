using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Reporting;
using Topiary.Training;

namespace Topiary.Experiments;

/// <summary>
/// Settings of one pruning experiment: the method as a type with its own settings (<see cref="PruningMethod"/>:
/// <see cref="RelevancePruning"/>, <see cref="LobsterPruning"/>, …), the optimizer as a type
/// (<see cref="OptimizerOptions"/>), and what every method shares (budget, bound, evaluation, seed, scopes). Defaults
/// are Topiary's demo settings (calibrated to finish on 2 cores); <see cref="Paper"/> gives the authors'
/// LeNet-5/Fashion-MNIST settings. <see cref="Describe"/> is the one canonical form of a run's settings: what reports
/// record and what a resumed run must match.
/// </summary>
public sealed record PruningOptions
{
    /// <summary>The layout of <see cref="Describe"/>; checkpoints of Topiary 0.1.0 recorded a flat layout (version 1, <see cref="PruningOptionsV1"/>).</summary>
    public const int DescriptionVersion = 2;

    /// <summary>The method, with its own settings, extra regularizers and any recipe schedule (default: relevance, γ0 = 1e-3, α = 1, t = 0.08).</summary>
    public PruningMethod Method { get; init; } = new RelevancePruning();
    /// <summary>The optimizer of dense training and of pruning (default Adam at lr 1e-3).</summary>
    public OptimizerOptions Optimizer { get; init; } = new AdamOptions();
    /// <summary>
    /// Whether to measure the test metric right before every pruning event (the report's test curve; reporting only).
    /// It costs one test pass per event: 82 s of the 383 s default LeNet-5 run, so <c>topiary prune</c> asks for it
    /// with <c>--test-curve</c>, while <c>topiary compare</c> always draws its curves from it.
    /// </summary>
    public bool TestCurve { get; init; }
    /// <summary>
    /// The size-for-size protocol (<see cref="SizeProtocol"/>): at each of its sizes the run crosses, the model is cropped
    /// to the size, fine-tuned without the regularizer and measured; null for none (the default).
    /// </summary>
    public SizeProtocol? Sizes { get; init; }
    /// <summary>Parameters the regularizer acts on (ignored with a <see cref="Selector"/>).</summary>
    public ParameterScope RegularizedScope { get; init; } = ParameterScope.WeightsAndBiases;
    /// <summary>Parameters the pruner may remove (ignored with a <see cref="Selector"/>).</summary>
    public ParameterScope PrunedScope { get; init; } = ParameterScope.WeightsAndBiases;
    /// <summary>A recipe's selector, which decides both what is pruned and what is regularized; null: the two scopes.</summary>
    public LayerSelector? Selector { get; init; }
    /// <summary>B: validation accuracy floor for pruning and for result selection.</summary>
    public double Floor { get; init; } = 0.895;
    /// <summary>
    /// B for tasks whose metric is better when lower (perplexity): a validation ceiling for pruning and
    /// for result selection. Unbounded by default; image tasks use <see cref="Floor"/> instead.
    /// </summary>
    public double Ceiling { get; init; } = double.PositiveInfinity;
    /// <summary>E: evaluate (and maybe prune) every E batches.</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>P: stop after P evaluations without a new smallest model at or above the floor.</summary>
    public int Patience { get; init; } = 25;
    /// <summary>Epochs of plain training before pruning (ignored when starting from a file).</summary>
    public int DenseEpochs { get; init; } = 4;
    /// <summary>
    /// How the learning rate moves over the dense phase (default constant; cosine anneals it towards 0 over the dense
    /// epochs). The pruning phase always starts again from the optimizer's own rate.
    /// </summary>
    public LearningRateSchedule DenseSchedule { get; init; } = LearningRateSchedule.Constant;
    /// <summary>Epoch budget of the pruning phase.</summary>
    public int Epochs { get; init; } = 12;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Seed of the initialization, the split and the batch order.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>
    /// The authors' LeNet-5/Fashion-MNIST settings (giobin/esann22_sparsity, hyperparam_eval.sh):
    /// Adam lr 1e-3, batch 100, eval every 250 batches, t = 0.04, floor 0.905, γ0 = 1e-3, α = 1, 75 epochs.
    /// </summary>
    public static PruningOptions Paper { get; } = new()
    {
        Method = new RelevancePruning { CropFraction = 0.04, Gamma = 1e-3, Alpha = 1 },
        Floor = 0.905, EvalEvery = 250, Patience = 25, Epochs = 75, DenseEpochs = 10, BatchSize = 100,
        Optimizer = new AdamOptions { LearningRate = 1e-3 },
    };

    /// <summary>Checks every value; the exception names the offending property (a command line maps it to its flag).</summary>
    /// <exception cref="PruningOptionException">A value is out of range.</exception>
    /// <exception cref="PruningMethodException">A setting of the method is out of range.</exception>
    public void Validate()
    {
        Method.Validate();
        Optimizer.Validate();
        Require(Floor >= 0 && Floor <= 1, nameof(Floor), $"must lie in [0, 1], got {Floor}");
        Require(Ceiling >= 1, nameof(Ceiling), $"must be a perplexity ≥ 1, got {Ceiling}");
        Require(EvalEvery >= 1, nameof(EvalEvery), $"must be at least 1, got {EvalEvery}");
        Require(Patience >= 1, nameof(Patience), $"must be at least 1, got {Patience}");
        Require(DenseEpochs >= 0, nameof(DenseEpochs), $"must be ≥ 0, got {DenseEpochs}");
        Require(Epochs >= 0, nameof(Epochs), $"must be ≥ 0, got {Epochs}");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        try { Sizes?.Validate(); }
        catch (PruningMethodException e) { throw new PruningOptionException(nameof(Sizes), e.Reason); }
    }

    /// <summary>The bound B for a task's metric direction: <see cref="Floor"/> or <see cref="Ceiling"/>.</summary>
    public double BoundFor(bool higherIsBetter) => higherIsBetter ? Floor : Ceiling;

    /// <summary>
    /// The settings in canonical form (version <see cref="DescriptionVersion"/>, keys in a fixed order, the method as
    /// <see cref="PruningMethod.Describe"/> gives it): what checkpoints record, and what a resumed run must match.
    /// </summary>
    public JsonObject Describe()
    {
        var description = Canonical();
        // Named only when not constant, so that every description written before the schedule existed stays the same.
        if (DenseSchedule != LearningRateSchedule.Constant) description["dense_schedule"] = DenseSchedule.Spelling();
        // Only runs with the protocol name it, so that the description of every other run stays what it was.
        if (Sizes is { } sizes)
            description["sizes"] = new JsonObject
            {
                ["sizes"] = new JsonArray(sizes.Sizes.Select(s => (JsonNode)s).ToArray()),
                ["fine_tune_steps"] = sizes.FineTuneSteps,
                ["learning_rate"] = sizes.LearningRate,
            };
        return description;
    }

    private JsonObject Canonical() => new()
    {
        ["version"] = DescriptionVersion,
        ["method"] = Method.Describe(),
        ["optimizer"] = Optimizer.Describe(),
        ["selector"] = Selector is null ? null : JsonSerializer.SerializeToNode(Selector, ReportJson.Options),
        ["regularized_scope"] = RegularizedScope.ToString(),
        ["pruned_scope"] = PrunedScope.ToString(),
        ["floor"] = Floor,
        ["ceiling"] = double.IsPositiveInfinity(Ceiling) ? "Infinity" : JsonValue.Create(Ceiling),
        ["eval_every"] = EvalEvery,
        ["patience"] = Patience,
        ["dense_epochs"] = DenseEpochs,
        ["epochs"] = Epochs,
        ["batch_size"] = BatchSize,
        ["seed"] = Seed,
        ["test_curve"] = TestCurve,
    };

    private static void Require(bool condition, string property, string reason)
    {
        if (!condition) throw new PruningOptionException(property, reason);
    }
}

/// <summary>A setting of <see cref="PruningOptions"/> is out of range; the message names it as <c>PruningOptions.Property</c>.</summary>
public sealed class PruningOptionException(string property, string reason) : ArgumentException($"{nameof(PruningOptions)}.{property}: {reason}")
{
    /// <summary>The property name, e.g. <c>CropFraction</c>.</summary>
    public string Property { get; } = property;
    /// <summary>Why the value was rejected.</summary>
    public string Reason { get; } = reason;
}
