using Topiary.Pruning;
using Topiary.Regularization;

namespace Topiary.Training;

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
    /// <summary><c>adam</c> or <c>sgd</c> (with <see cref="Momentum"/>).</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>SGD momentum μ.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Seed of the initialization, the split and the batch order.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>
    /// The authors' LeNet-5/Fashion-MNIST settings (giobin/esann22_sparsity, hyperparam_eval.sh):
    /// Adam lr 1e-3, batch 100, eval every 250 batches, t = 0.04, floor 0.905, γ0 = 1e-3, α = 1, 75 epochs.
    /// </summary>
    public static PruningOptions Paper { get; } = new()
    {
        CropFraction = 0.04, Floor = 0.905, EvalEvery = 250, Patience = 25, Epochs = 75, DenseEpochs = 10,
        Gamma = 1e-3, Alpha = 1, BatchSize = 100, LearningRate = 1e-3, Optimizer = "adam",
    };

    /// <summary>Checks every value; the exception names the offending setting by its CLI flag.</summary>
    /// <exception cref="PruningOptionException">A value is out of range.</exception>
    public void Validate()
    {
        Require(RegularizerCatalog.Names.Contains(Method), "method", $"unknown method '{Method}' (expected one of: {string.Join(", ", RegularizerCatalog.Names)})");
        Require(Gamma >= 0 && double.IsFinite(Gamma), "gamma", $"must be a finite number ≥ 0, got {Gamma}");
        Require(Alpha > 0 && double.IsFinite(Alpha), "alpha", $"must be a finite number > 0, got {Alpha}");
        Require(CropFraction > 0 && CropFraction < 1, "crop-fraction", $"must lie in (0, 1), got {CropFraction}");
        Require(Floor >= 0 && Floor <= 1, "floor", $"must lie in [0, 1], got {Floor}");
        Require(Ceiling >= 1, "ceiling", $"must be a perplexity ≥ 1, got {Ceiling}");
        Require(EvalEvery >= 1, "eval-every", $"must be at least 1, got {EvalEvery}");
        Require(Patience >= 1, "patience", $"must be at least 1, got {Patience}");
        Require(DenseEpochs >= 0, "dense-epochs", $"must be ≥ 0, got {DenseEpochs}");
        Require(Epochs >= 0, "epochs", $"must be ≥ 0, got {Epochs}");
        Require(BatchSize >= 1, "batch-size", $"must be at least 1, got {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), "lr", $"must be a finite number > 0, got {LearningRate}");
        Require(Optimizer is "adam" or "sgd", "optimizer", $"unknown optimizer '{Optimizer}' (expected adam or sgd)");
        Require(Momentum >= 0 && Momentum < 1, "momentum", $"must lie in [0, 1), got {Momentum}");
    }

    /// <summary>The bound B for a task's metric direction: <see cref="Floor"/> or <see cref="Ceiling"/>.</summary>
    public double BoundFor(bool higherIsBetter) => higherIsBetter ? Floor : Ceiling;

    private static void Require(bool condition, string option, string reason)
    {
        if (!condition) throw new PruningOptionException(option, reason);
    }
}

/// <summary>A setting is out of range; <see cref="Option"/> is its CLI flag name without dashes.</summary>
public sealed class PruningOptionException(string option, string reason) : ArgumentException($"--{option}: {reason}")
{
    /// <summary>The flag name, e.g. <c>crop-fraction</c>.</summary>
    public string Option { get; } = option;
    /// <summary>Why the value was rejected.</summary>
    public string Reason { get; } = reason;
}
