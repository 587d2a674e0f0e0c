using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

public class ClassAccuracyTests
{
    [Fact]
    public void Each_class_is_scored_on_its_own_examples_across_batches_and_an_absent_class_is_NaN()
    {
        using var scope = NewDisposeScope();
        // The "model" passes the logits through: predictions 0, 1, 1, 2, 0 for labels 0, 1, 0, 2, 2.
        var logits = tensor(new float[,] { { 5, 0, 0, 0 }, { 0, 5, 0, 0 }, { 0, 5, 0, 0 }, { 0, 0, 5, 0 }, { 5, 0, 0, 0 } });
        var labels = tensor(new long[] { 0, 1, 0, 2, 2 });
        var accuracies = Evaluation.ClassAccuracies(nn.Identity(), logits, labels, batchSize: 2);
        Assert.Equal(4, accuracies.Count);
        Assert.Equal([0.5, 1.0, 0.5], accuracies.Take(3));
        Assert.True(double.IsNaN(accuracies[3]));
    }
}
