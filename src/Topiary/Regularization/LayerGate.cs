namespace Topiary.Regularization;

/// <summary>
/// The relevance gate exp(−s/α) of Bonetta et al.'s regularizer (arXiv 2204.04977) on one prunable tensor, over its
/// unpruned entries: s is |∂L/∂w| (or its running average), and a gate near 1 means the full decay 2γw.
/// </summary>
/// <param name="Name">The parameter's name.</param>
/// <param name="Alpha">The α in use.</param>
/// <param name="Signal">Quantiles of s at the levels of the enclosing <see cref="GateTrace"/>.</param>
/// <param name="Gate">Quantiles of exp(−s/α) at the same levels.</param>
/// <param name="BelowHalf">The share of entries whose gate is below ½.</param>
public sealed record LayerGate(string Name, double Alpha, IReadOnlyList<double> Signal, IReadOnlyList<double> Gate, double BelowHalf);

/// <summary>The gate of every prunable tensor at one evaluation, from the last training step before it.</summary>
/// <param name="Step">The pruning step of the evaluation.</param>
/// <param name="Layers">One entry per prunable tensor.</param>
public sealed record GateEvaluation(long Step, IReadOnlyList<LayerGate> Layers);

/// <summary>How the relevance gate moved over a run: quantile levels and one <see cref="GateEvaluation"/> per evaluation after the first step.</summary>
/// <param name="Levels">The quantile levels, in (0, 1).</param>
/// <param name="Evaluations">In step order.</param>
public sealed record GateTrace(IReadOnlyList<double> Levels, IReadOnlyList<GateEvaluation> Evaluations);
