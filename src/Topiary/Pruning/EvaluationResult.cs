namespace Topiary.Pruning;

/// <summary>A model's quality on one split, as pruning schedules and the selection read it.</summary>
/// <param name="Metric">The task's metric: accuracy for classification, perplexity for language models.</param>
/// <param name="Loss">Mean loss per example (or per token).</param>
public readonly record struct EvaluationResult(double Metric, double Loss);
