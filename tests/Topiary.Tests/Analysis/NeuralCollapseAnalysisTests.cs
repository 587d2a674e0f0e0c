using TorchSharp;
using Topiary.Analysis;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class NeuralCollapseAnalysisTests
{
    [Fact]
    public void Collapsed_features_on_a_simplex_measure_zero_and_noise_or_unequal_means_do_not()
    {
        using var scope = NewDisposeScope();
        long[] labels = [0, 0, 1, 1, 1, 2, 2, 3];
        var vertices = eye(4, dtype: float64).sub(0.25);
        var embedded = cat(new[] { vertices, zeros(4, 2, dtype: float64) }, 1).mul(3).add(1.5);
        var collapsed = embedded.index_select(0, tensor(labels));
        var metric = NeuralCollapseAnalysis.Of(collapsed, tensor(labels));
        Assert.Equal((8L, 4L, 6L), (metric.Examples, metric.Classes, metric.Dimension));
        foreach (var value in new[] { metric.Nc1, metric.WithinOverBetween, metric.Equinorm, metric.Equiangularity, metric.MaxCosineGap })
            Assert.Equal(0.0, value, 10);

        var noisy = NeuralCollapseAnalysis.Of(collapsed.add(randn(8, 6, dtype: float64, generator: new Generator(1)).mul(0.1)), tensor(labels));
        Assert.True(noisy.Nc1 > 1e-4 && noisy.WithinOverBetween > 1e-4, $"{noisy}");
        var stretched = embedded.clone();
        stretched[0] = stretched[0].sub(1.5).mul(2).add(1.5);   // one class mean twice as far from the centre
        var unequal = NeuralCollapseAnalysis.Of(stretched.index_select(0, tensor(labels)), tensor(labels));
        Assert.True(unequal.Equinorm > 0.1 && unequal.MaxCosineGap > 1e-3, $"{unequal}");
    }

    [Fact]
    public void On_a_model_it_reads_the_features_of_the_last_layer_in_batches()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3));
        model.to(float64);
        var inputs = randn(25, 5, dtype: float64, generator: new Generator(3));
        var labels = randint(0, 3, new long[] { 25 }, generator: new Generator(4));
        var parameters = model.parameters().ToList();
        var features = nn.functional.relu(nn.functional.linear(inputs, parameters[0], parameters[1])).detach();
        Assert.Equal(NeuralCollapseAnalysis.Of(features, labels), NeuralCollapseAnalysis.Measure(model, inputs, labels, batchSize: 10));
    }
}
