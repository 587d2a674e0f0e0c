using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Reporting;

/// <summary>How well a classifier's confidence matches its accuracy on a labelled set.</summary>
/// <param name="ExpectedCalibrationError">ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| over equal-width confidence bins.</param>
/// <param name="NegativeLogLikelihood">NLL = −(1/n)·Σ_i log p(y_i | x_i), in nats.</param>
/// <param name="Accuracy">The fraction of examples whose most probable class is the label.</param>
/// <param name="Count">n, the number of examples.</param>
public sealed record CalibrationResult(double ExpectedCalibrationError, double NegativeLogLikelihood, double Accuracy, long Count);

/// <summary>
/// Calibration metrics of a classifier, as evaluated by Chun, Oh, Yun, Han, Choe, Yoo, "An Empirical Evaluation on
/// Robustness and Uncertainty of Regularization Methods" (ICML 2019 UDL workshop, seed paper #112) and the work they
/// follow (Guo et al. 2017): the expected calibration error over <see cref="DefaultBins"/> equal-width bins of the
/// top-class confidence c_i = max_k p_k(x_i), ECE = Σ_b (|B_b|/n)·|(1/|B_b|)Σ_{i∈B_b}[ŷ_i = y_i] − (1/|B_b|)Σ_{i∈B_b} c_i|
/// with B_b = {i : c_i ∈ ((b−1)/M, b/M]}, the negative log-likelihood and the accuracy. Pruning is known to make
/// networks less well calibrated, so a pruned model's numbers are worth reading beside its dense model's.
/// </summary>
public static class Calibration
{
    /// <summary>The number of confidence bins of the ECE (the paper's and Guo et al.'s 15).</summary>
    public const int DefaultBins = 15;

    /// <summary>ECE, NLL and accuracy of <paramref name="logits"/> (n × C, unnormalized) against <paramref name="labels"/> (n class indices).</summary>
    public static CalibrationResult FromLogits(Tensor logits, Tensor labels, int bins = DefaultBins)
    {
        using var scope = NewDisposeScope();
        var logProbabilities = nn.functional.log_softmax(logits.detach().cpu().to(float64), 1);
        return Measure(logProbabilities, labels, bins);
    }

    /// <summary>ECE, NLL and accuracy of <paramref name="model"/> (in evaluation mode) on <paramref name="inputs"/>, batch by batch.</summary>
    public static CalibrationResult Evaluate(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, int bins = DefaultBins, int batchSize = 1000)
    {
        using var scope = NewDisposeScope();
        return FromLogits(Predictions.Logits(model, inputs, batchSize), labels, bins);
    }

    /// <summary>ECE, NLL and accuracy of class probabilities <paramref name="probabilities"/> (n × C, rows summing to 1).</summary>
    public static CalibrationResult FromProbabilities(Tensor probabilities, Tensor labels, int bins = DefaultBins)
    {
        using var scope = NewDisposeScope();
        return Measure(probabilities.detach().cpu().to(float64).log(), labels, bins);
    }

    private static CalibrationResult Measure(Tensor logProbabilities, Tensor labels, int bins)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "bins must be ≥ 1");
        if (logProbabilities.dim() != 2 || labels.dim() != 1 || labels.shape[0] != logProbabilities.shape[0] || labels.shape[0] == 0)
            throw new ArgumentException($"expected n × C scores and n labels, n ≥ 1; got [{string.Join(", ", logProbabilities.shape)}] and [{string.Join(", ", labels.shape)}]", nameof(labels));
        var n = labels.shape[0];
        var y = labels.cpu().to(int64);
        var nll = -logProbabilities.gather(1, y.unsqueeze(1)).mean().item<double>();
        var (top, predicted) = logProbabilities.max(1);
        var confidence = top.exp();
        var correct = predicted.eq(y).to(float64);
        // Bin b holds confidences in ((b−1)/M, b/M]: ceil(c·M) − 1, with c = 0 put in the first bin.
        var bin = confidence.mul(HeldScalar.Of(bins)).ceil().sub(HeldScalar.Of(1)).clamp(HeldScalar.Of(0), HeldScalar.Of(bins - 1)).to(int64);
        var confidenceSums = bin.bincount(confidence, bins);
        var correctSums = bin.bincount(correct, bins);
        var ece = correctSums.sub(confidenceSums).abs().sum().item<double>() / n;
        return new CalibrationResult(ece, nll, correct.mean().item<double>(), n);
    }
}
