using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class CalibrationTests
{
    // n examples with top-class probability `confidence` over 4 classes, the first `correct` of them right.
    private static (Tensor Probabilities, Tensor Labels) Predictions(int n, double confidence, int correct, int predicted = 0)
    {
        var rest = (1 - confidence) / 3;
        var p = full(n, 4, rest, dtype: float64);
        p[.., predicted] = confidence;
        var labels = full(n, predicted == 0 ? 1 : 0, dtype: int64);
        labels[TensorIndex.Slice(0, correct)] = predicted;
        return (p, labels);
    }

    [Fact]
    public void A_perfectly_calibrated_predictor_has_zero_ece_and_an_over_confident_one_the_hand_value()
    {
        using var scope = NewDisposeScope();
        // Two confidence levels, each right exactly as often as it claims: 0.9 on 10 examples (9 right), 0.5 on 10 (5 right).
        var (p1, y1) = Predictions(10, 0.9, 9);
        var (p2, y2) = Predictions(10, 0.5, 5, predicted: 2);
        var calibrated = Calibration.FromProbabilities(cat([p1, p2]), cat([y1, y2]));
        Assert.Equal(0, calibrated.ExpectedCalibrationError, 12);
        Assert.Equal(0.7, calibrated.Accuracy, 12);
        // Over-confident: 0.99 claimed, 60% right in one bin, 0.6 claimed and 60% right in another.
        var (p3, y3) = Predictions(20, 0.99, 12);
        var (p4, y4) = Predictions(5, 0.6, 3);
        var over = Calibration.FromProbabilities(cat([p3, p4]), cat([y3, y4]));
        Assert.Equal(20.0 / 25 * (0.99 - 0.6), over.ExpectedCalibrationError, 12);
        // NLL by hand: −(12·log 0.99 + 8·log(0.01/3) + 3·log 0.6 + 2·log(0.4/3))/25.
        var nll = -(12 * Math.Log(0.99) + 8 * Math.Log(0.01 / 3) + 3 * Math.Log(0.6) + 2 * Math.Log(0.4 / 3)) / 25;
        Assert.Equal(nll, over.NegativeLogLikelihood, 10);
        Assert.Equal(15.0 / 25, over.Accuracy, 12);
    }

    [Fact]
    public void Bins_are_equal_width_and_half_open_and_logits_give_the_same_result_as_their_softmax()
    {
        using var scope = NewDisposeScope();
        // Bins are ((b−1)/M, b/M]: with M = 4, 0.3 and 0.5 share (0.25, 0.5]; 0.5 and 0.75 do not.
        var (pa, ya) = Predictions(1, 0.5, 1);
        var (pb, yb) = Predictions(1, 0.3, 0);
        var (pc, yc) = Predictions(1, 0.75, 0);
        Assert.Equal(Math.Abs(0.5 - 0.4), Calibration.FromProbabilities(cat([pa, pb]), cat([ya, yb]), bins: 4).ExpectedCalibrationError, 12);
        Assert.Equal((0.5 + 0.75) / 2, Calibration.FromProbabilities(cat([pa, pc]), cat([ya, yc]), bins: 4).ExpectedCalibrationError, 12);
        // With one bin everything averages: |1/3 − 0.5167|.
        Assert.Equal(Math.Abs(1 / 3.0 - 1.55 / 3), Calibration.FromProbabilities(cat([pa, pb, pc]), cat([ya, yb, yc]), bins: 1).ExpectedCalibrationError, 12);

        var logits = randn(200, 5, dtype: float64, generator: new Generator(7)).mul(2);
        var labels = randint(0, 5, [200], dtype: int64, generator: new Generator(8));
        var fromLogits = Calibration.FromLogits(logits, labels);
        var fromProbabilities = Calibration.FromProbabilities(nn.functional.softmax(logits, 1), labels);
        Assert.Equal(fromProbabilities.ExpectedCalibrationError, fromLogits.ExpectedCalibrationError, 10);
        Assert.Equal(nn.functional.cross_entropy(logits, labels).item<double>(), fromLogits.NegativeLogLikelihood, 10);
        Assert.Equal(fromProbabilities.Accuracy, fromLogits.Accuracy, 12);
    }
}
