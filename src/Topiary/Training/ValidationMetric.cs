using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// How a run scores a model on held-out data: a per-batch mean (accuracy, loss, or a function of one's own), weighted
/// by batch size over the split, then <see cref="Finish"/> (e.g. exp for perplexity), and the direction.
/// </summary>
/// <param name="Name">The metric's name in reports.</param>
/// <param name="HigherIsBetter">Its direction.</param>
/// <param name="BatchMean">The mean over one batch of (outputs, targets), e.g. the fraction classified right.</param>
public sealed record ValidationMetric(string Name, bool HigherIsBetter, Func<Tensor, Tensor, double> BatchMean)
{
    /// <summary>Applied to the weighted mean over the split (identity by default).</summary>
    public Func<double, double> Finish { get; init; } = mean => mean;

    /// <summary>Classification accuracy: argmax over the last dimension against integer targets.</summary>
    public static ValidationMetric Accuracy { get; } = new("accuracy", true, (outputs, targets) =>
    {
        using var scope = NewDisposeScope();
        return outputs.argmax(-1).eq(targets).to(float64).mean().item<double>();
    });

    /// <summary>The mean of a loss (lower is better), e.g. <c>ValidationMetric.Loss(nn.functional.mse_loss)</c>.</summary>
    public static ValidationMetric Loss(Func<Tensor, Tensor, Tensor> loss, string name = "loss") => new(name, false, (outputs, targets) =>
    {
        using var scope = NewDisposeScope();
        return loss(outputs, targets).to(float64).item<double>();
    });

    /// <summary>Perplexity: exp of the mean cross-entropy over tokens (outputs [.., vocabulary], integer targets).</summary>
    public static ValidationMetric Perplexity { get; } = new("perplexity", false, (outputs, targets) =>
    {
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(outputs.reshape(-1, outputs.shape[^1]), targets.reshape(-1)).to(float64).item<double>();
    }) { Finish = Math.Exp };
}
