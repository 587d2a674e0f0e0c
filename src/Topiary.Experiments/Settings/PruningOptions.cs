using Topiary.Pruning;
using Topiary.Regularization;

namespace Topiary.Experiments;

/// <summary>
/// Settings of one relevance-decay + iterative-pruning run. Defaults are Topiary's demo settings
/// (calibrated to finish on 2 cores); <see cref="Paper"/> gives the authors' LeNet-5/Fashion-MNIST settings.
/// </summary>
public sealed record PruningOptions
{
    /// <summary>Regularizer: <c>relevance</c>, <c>l2</c>, <c>l1</c> or <c>none</c>.</summary>
    public string Method { get; init; } = "relevance";
    /// <summary>γ0, the regularization strength right after each pruning event.</summary>
    public double Gamma { get; init; } = 1e-3;
    /// <summary>α, the relevance scale of exp(−|g|/α).</summary>
    public double Alpha { get; init; } = 1.0;
    /// <summary>
    /// Further regularizers with constant strengths, combined with <see cref="Method"/> (whose γ follows the
    /// schedule), as <c>spectral:1e-3,so:1e-4</c> (see <see cref="RegularizerSpec"/>); null for none.
    /// </summary>
    public string? Regularizers { get; init; }
    /// <summary>
    /// Whether to measure the test metric right before every pruning event (the report's test curve; reporting only).
    /// It costs one test pass per event: 82 s of the 383 s default LeNet-5 run, so <c>topiary prune</c> asks for it
    /// with <c>--test-curve</c>, while <c>topiary compare</c> always draws its curves from it.
    /// </summary>
    public bool TestCurve { get; init; }
    /// <summary>Whether γ decays linearly to 0 over one epoch after each pruning event.</summary>
    public bool GammaDecay { get; init; } = true;
    /// <summary>Parameters the regularizer acts on.</summary>
    public ParameterScope RegularizedScope { get; init; } = ParameterScope.WeightsAndBiases;
    /// <summary>Parameters the pruner may remove.</summary>
    public ParameterScope PrunedScope { get; init; } = ParameterScope.WeightsAndBiases;
    /// <summary>t: fraction of the remaining prunable parameters removed per crop.</summary>
    public double CropFraction { get; init; } = 0.08;
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
    /// <summary>Epoch budget of the pruning phase.</summary>
    public int Epochs { get; init; } = 12;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Learning rate η.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary><c>adam</c>, <c>sgd</c> (with <see cref="Momentum"/>), <c>muon</c> (β = <see cref="Momentum"/>) or <c>steepest</c>.</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>SGD momentum μ.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Seed of the initialization, the split and the batch order.</summary>
    public int Seed { get; init; } = 1234;

    // ---- competing methods (issue 3): used only by lobster, hypersparse and gmp ----
    /// <summary>Target sparsity of <c>gmp</c> (s_f) and <c>hypersparse</c> (κ), in (0, 1).</summary>
    public double TargetSparsity { get; init; } = 0.9;
    /// <summary>LOBSTER's tolerated relative worsening of the validation loss per threshold, twt ≥ 0.</summary>
    public double Twt { get; init; } = 0.05;
    /// <summary>LOBSTER's plateau patience pwe, in evaluations, ≥ 0.</summary>
    public int Pwe { get; init; } = 1;
    /// <summary>ART's growth factor η &gt; 1 of the HyperSparse strength per epoch.</summary>
    public double Growth { get; init; } = 2;
    /// <summary>A recipe whose selector, schedule and limits replace the method's (null: the method decides).</summary>
    public Topiary.Pruning.Toolkit.PruningRecipe? Recipe { get; init; }

    /// <summary>
    /// The authors' LeNet-5/Fashion-MNIST settings (giobin/esann22_sparsity, hyperparam_eval.sh):
    /// Adam lr 1e-3, batch 100, eval every 250 batches, t = 0.04, floor 0.905, γ0 = 1e-3, α = 1, 75 epochs.
    /// </summary>
    public static PruningOptions Paper { get; } = new()
    {
        CropFraction = 0.04, Floor = 0.905, EvalEvery = 250, Patience = 25, Epochs = 75, DenseEpochs = 10,
        Gamma = 1e-3, Alpha = 1, BatchSize = 100, LearningRate = 1e-3, Optimizer = "adam",
    };

    /// <summary>
    /// The regularizer of a run: <see cref="Method"/> alone, or, with <see cref="Regularizers"/>, a
    /// <see cref="CompositeRegularizer"/> of the method (following the γ schedule) and the listed terms.
    /// </summary>
    /// <param name="method">The method's own regularizer when it needs more than its name (LOBSTER, HyperSparse); by default built from <see cref="Method"/>.</param>
    public GradientRegularizer BuildRegularizer(GradientRegularizer? method = null)
    {
        method ??= RegularizerCatalog.Create(Method, Alpha);
        if (Regularizers is null) return method;
        return new CompositeRegularizer(RegularizerSpec.Parse(Regularizers).Prepend(new RegularizerTerm(method, 1, FollowsSchedule: true)));
    }

    /// <summary>Checks every value; the exception names the offending property (a command line maps it to its flag).</summary>
    /// <exception cref="PruningOptionException">A value is out of range.</exception>
    public void Validate()
    {
        Require(PruningMethods.Names.Contains(Method), nameof(Method), $"unknown method '{Method}' (expected one of: {string.Join(", ", PruningMethods.Names)})");
        Require(Gamma >= 0 && double.IsFinite(Gamma), nameof(Gamma), $"must be a finite number ≥ 0, got {Gamma}");
        Require(Alpha > 0 && double.IsFinite(Alpha), nameof(Alpha), $"must be a finite number > 0, got {Alpha}");
        Require(CropFraction > 0 && CropFraction < 1, nameof(CropFraction), $"must lie in (0, 1), got {CropFraction}");
        Require(Floor >= 0 && Floor <= 1, nameof(Floor), $"must lie in [0, 1], got {Floor}");
        Require(Ceiling >= 1, nameof(Ceiling), $"must be a perplexity ≥ 1, got {Ceiling}");
        Require(EvalEvery >= 1, nameof(EvalEvery), $"must be at least 1, got {EvalEvery}");
        Require(Patience >= 1, nameof(Patience), $"must be at least 1, got {Patience}");
        Require(DenseEpochs >= 0, nameof(DenseEpochs), $"must be ≥ 0, got {DenseEpochs}");
        Require(Epochs >= 0, nameof(Epochs), $"must be ≥ 0, got {Epochs}");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), $"must be a finite number > 0, got {LearningRate}");
        Require(OptimizerFactory.Names.Contains(Optimizer), nameof(Optimizer), $"unknown optimizer '{Optimizer}' (expected one of: {string.Join(", ", OptimizerFactory.Names)})");
        if (Regularizers is not null)
        {
            try { RegularizerSpec.Parse(Regularizers); }
            catch (FormatException e) { throw new PruningOptionException(nameof(Regularizers), e.Message); }
        }
        Require(Momentum >= 0 && Momentum < 1, nameof(Momentum), $"must lie in [0, 1), got {Momentum}");
        Require(TargetSparsity > 0 && TargetSparsity < 1, nameof(TargetSparsity), $"must lie in (0, 1), got {TargetSparsity}");
        Require(Twt >= 0 && double.IsFinite(Twt), nameof(Twt), $"must be a finite number ≥ 0, got {Twt}");
        Require(Pwe >= 0, nameof(Pwe), $"must be ≥ 0, got {Pwe}");
        Require(Growth > 1 && double.IsFinite(Growth), nameof(Growth), $"must be a finite number > 1, got {Growth}");
    }

    /// <summary>The bound B for a task's metric direction: <see cref="Floor"/> or <see cref="Ceiling"/>.</summary>
    public double BoundFor(bool higherIsBetter) => higherIsBetter ? Floor : Ceiling;

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
