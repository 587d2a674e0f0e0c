using TorchSharp.Modules;
using Topiary.Data;
using Topiary.DataSelection;
using Topiary.Experiments;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.DataSelection;

public class DataDietTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static (Linear Model, Tensor X, Tensor Y) LinearProblem()
    {
        var generator = new Generator(3);
        var model = nn.Linear(4, 3);
        using (no_grad())
        {
            model.weight!.copy_(randn(3, 4, generator: generator));
            model.bias!.copy_(randn(3, generator: generator));
        }
        return (model, randn(10, 4, generator: generator), randint(0, 3, [10], dtype: ScalarType.Int64, generator: generator));
    }

    // softmax(Wx + b) − onehot(y) in doubles, by hand.
    private static double[] Error(Linear model, Tensor x, Tensor y, int i)
    {
        var w = model.weight!.to(float64).data<double>().ToArray();
        var b = model.bias!.to(float64).data<double>().ToArray();
        var xi = x[i].to(float64).data<double>().ToArray();
        var logits = Enumerable.Range(0, 3).Select(k => b[k] + Enumerable.Range(0, 4).Sum(j => w[k * 4 + j] * xi[j])).ToArray();
        var top = logits.Max();
        var exp = logits.Select(l => Math.Exp(l - top)).ToArray();
        var label = y[i].item<long>();
        return exp.Select((e, k) => e / exp.Sum() - (k == label ? 1 : 0)).ToArray();
    }

    private static double Norm(IEnumerable<double> v) => Math.Sqrt(v.Sum(e => e * e));

    [Fact]
    public void El2n_is_the_norm_of_the_softmax_error_in_closed_form()
    {
        var (model, x, y) = LinearProblem();
        var scores = ExampleScores.El2n(model, x, y, batchSize: 3);
        for (var i = 0; i < 10; i++) Assert.Equal(Norm(Error(model, x, y, i)), scores[i], 5);
    }

    [Fact]
    public void GraNd_of_a_linear_model_is_the_error_norm_times_the_input_norm_with_bias()
    {
        // ∇W ℓ = (p − y) xᵀ and ∇b ℓ = p − y, so ‖∇ℓ‖ = ‖p − y‖·√(‖x‖² + 1).
        var (model, x, y) = LinearProblem();
        var scores = ExampleScores.GraNd(model, x, y, (o, t) => nn.functional.cross_entropy(o, t));
        for (var i = 0; i < 10; i++)
        {
            var input = x[i].to(float64).data<double>().ToArray();
            Assert.Equal(Norm(Error(model, x, y, i)) * Math.Sqrt(input.Sum(v => v * v) + 1), scores[i], 4);
        }
    }

    [Fact]
    public void GraNd_equals_the_per_example_autograd_gradient_norm_and_leaves_gradients_alone()
    {
        manual_seed(8);
        var model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 4));
        var generator = new Generator(8);
        var (x, y) = (randn(7, 5, generator: generator), randint(0, 4, [7], dtype: ScalarType.Int64, generator: generator));
        var scores = ExampleScores.GraNd(model, x, y, (o, t) => nn.functional.cross_entropy(o, t));
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        for (var i = 0; i < 7; i++)
        {
            model.zero_grad();
            nn.functional.cross_entropy(model.forward(x[i..(i + 1)]), y[i..(i + 1)]).backward();
            var expected = Math.Sqrt(model.parameters().Sum(p => p.grad!.square().sum().item<float>()));
            Assert.Equal(expected, scores[i], 4);
        }
    }

    [Theory]
    [InlineData(0.3, 0.0)]
    [InlineData(0.3, 0.1)]
    [InlineData(0.5, 0.5)]
    public void The_kept_examples_are_the_top_scorers_after_the_offset(double keep, double offset)
    {
        var random = new Random(4);
        var scores = Enumerable.Range(0, 20).Select(_ => (float)random.NextDouble()).ToArray();
        var kept = new DataDiet { Keep = keep, Offset = offset }.Select(scores);
        var ranked = Enumerable.Range(0, 20).OrderByDescending(i => scores[i]).ToList();
        var expected = ranked.Skip((int)Math.Round(offset * 20)).Take((int)Math.Round(keep * 20)).Order();
        Assert.Equal(expected, kept);
    }

    [Fact]
    public void Keeping_everything_keeps_every_index_and_ties_fall_to_the_lower_index()
    {
        Assert.Equal(Enumerable.Range(0, 9), new DataDiet { Keep = 1 }.Select(new float[9]));
        Assert.Equal([0, 1, 2], new DataDiet { Keep = 0.5 }.Select([1f, 1f, 1f, 1f, 1f, 1f]));
    }

    [Theory]
    [InlineData(0.0, 0.0, 1, 1, "keep")]
    [InlineData(1.5, 0.0, 1, 1, "keep")]
    [InlineData(0.6, 0.5, 1, 1, "offset")]
    [InlineData(0.5, -0.1, 1, 1, "offset")]
    [InlineData(0.5, 0.0, -1, 1, "epochs")]
    [InlineData(0.5, 0.0, 1, 0, "runs")]
    public void Bad_settings_are_refused_by_name(double keep, double offset, int epochs, int runs, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataDiet { Keep = keep, Offset = offset, Epochs = epochs, Runs = runs }.Validated());
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void The_mean_score_averages_the_runs()
    {
        var (first, x, y) = LinearProblem();
        var second = nn.Linear(4, 3);
        var (a, b) = (ExampleScores.El2n(first, x, y), ExampleScores.El2n(second, x, y));
        var mean = new DataDiet { Runs = 2 }.MeanScores(run => run == 0 ? first : second, x, y, (o, t) => nn.functional.cross_entropy(o, t));
        for (var i = 0; i < 10; i++) Assert.Equal((a[i] + b[i]) / 2, mean[i], 5);
    }

    [Fact]
    public void Mislabelled_examples_score_highest_and_the_offset_drops_them()
    {
        // Two Gaussian blobs, five labels flipped; a logistic model trained on them misfits exactly those five.
        var generator = new Generator(12);
        var labels = cat([zeros(100, dtype: ScalarType.Int64), ones(100, dtype: ScalarType.Int64)]);
        var x = randn(200, 2, generator: generator).add(labels.to(float32).mul(2).sub(1).unsqueeze(1).mul(3));
        var flipped = new long[] { 3, 40, 77, 120, 181 };
        var noisy = labels.clone();
        foreach (var i in flipped) noisy[i] = 1 - labels[i];
        manual_seed(12);
        var model = nn.Linear(2, 2);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        for (var step = 0; step < 200; step++)
        {
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(x), noisy).backward();
            optimizer.step();
        }
        foreach (var scores in new[] { ExampleScores.El2n(model, x, noisy), ExampleScores.GraNd(model, x, noisy, (o, t) => nn.functional.cross_entropy(o, t)) })
        {
            Assert.Equal(flipped, Enumerable.Range(0, 200).OrderByDescending(i => scores[i]).Take(5).Select(i => (long)i).Order());
            Assert.DoesNotContain(new DataDiet { Keep = 0.5, Offset = 0.025 }.Select(scores), i => flipped.Contains(i));
        }
    }

    [Fact]
    public void An_image_subject_on_a_diet_trains_on_the_kept_share_and_keeps_validation_whole()
    {
        using var full = TinyData.Split(seed: 2, subset: 300);
        var diet = new DataDiet { Keep = 0.4, Epochs = 0, Runs = 1 };
        var training = new PruningOptions { Seed = 2 };
        var regimen = new ImageDataRegimen(null, diet, training);
        using var subject = ImageSubject.ForSeed("lenet300", TinyData.Idx, 2, 300, regimen);
        using var again = ImageSubject.ForSeed("lenet300", TinyData.Idx, 2, 300, regimen);
        Assert.Equal(diet.KeptCount(full.TrainCount), subject.Data.TrainCount);
        Assert.True(Same(subject.Data.ValidationImages, full.ValidationImages));
        Assert.True(Same(subject.Data.TestImages, full.TestImages));
        Assert.True(Same(subject.Data.TrainImages, again.Data.TrainImages));
        var kept = ImageDataDiet.Kept(full, "lenet300", diet, training);
        Assert.True(Same(subject.Data.TrainImages, full.TrainImages.index_select(0, tensor(kept.Select(i => (long)i).ToArray()))));
    }
}
