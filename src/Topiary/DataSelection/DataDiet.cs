using static TorchSharp.torch;

namespace Topiary.DataSelection;

/// <summary>
/// Data Diet (Paul, Ganguli and Dziugaite, NeurIPS 2021, "Deep Learning on a Data Diet", seed #106): prunes the training
/// set, not the weights. Every example is scored early in training (<see cref="ExampleScores"/>: EL2N
/// E‖softmax(f(x)) − onehot(y)‖₂ or GraNd E‖∇_w ℓ(x)‖₂, the expectation taken as the mean over <see cref="Runs"/>
/// short runs of <see cref="Epochs"/> epochs from different seeds); the examples ranked from
/// ⌊<see cref="Offset"/>·N⌉ to ⌊(<see cref="Offset"/> + <see cref="Keep"/>)·N⌉ by falling score are kept, and training
/// runs on those only. The offset drops the very hardest examples first, which the paper finds helps at small keep
/// fractions (they are often mislabelled).
/// </summary>
public sealed record DataDiet
{
    /// <summary>The score ranking the examples.</summary>
    public ExampleScore Score { get; init; } = ExampleScore.El2n;

    /// <summary>The fraction of the training set kept, in (0, 1].</summary>
    public double Keep { get; init; } = 0.5;

    /// <summary>The fraction of highest-scoring examples dropped before keeping, in [0, 1 − <see cref="Keep"/>].</summary>
    public double Offset { get; init; }

    /// <summary>Epochs each scoring run trains before scoring (0: at initialization, the paper's GraNd).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>The scoring runs averaged, at least 1.</summary>
    public int Runs { get; init; } = 2;

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Named after the setting (keep, offset, epochs, runs).</exception>
    public DataDiet Validated()
    {
        if (!(Keep is > 0 and <= 1)) throw new ArgumentOutOfRangeException("keep", Keep, "the kept fraction must be in (0, 1]");
        if (!(Offset >= 0 && Offset + Keep <= 1 + 1e-12))
            throw new ArgumentOutOfRangeException("offset", Offset, $"the offset must be in [0, 1 − keep] = [0, {1 - Keep:0.###}]");
        if (Epochs < 0) throw new ArgumentOutOfRangeException("epochs", Epochs, "the scoring epochs must be at least 0");
        if (Runs < 1) throw new ArgumentOutOfRangeException("runs", Runs, "the scoring runs must be at least 1");
        return this;
    }

    /// <summary>The examples kept out of <paramref name="examples"/>: ⌊Keep·N⌉, at least one.</summary>
    public int KeptCount(int examples) => Math.Clamp((int)Math.Round(Keep * examples, MidpointRounding.AwayFromZero), 1, examples);

    /// <summary>This diet's score of every example under <paramref name="model"/> (<paramref name="loss"/> is GraNd's).</summary>
    public float[] ScoreExamples(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor labels, Func<Tensor, Tensor, Tensor> loss) => Score switch
    {
        ExampleScore.El2n => ExampleScores.El2n(model, inputs, labels),
        _ => ExampleScores.GraNd(model, inputs, labels, loss),
    };

    /// <summary>
    /// The mean score over <see cref="Runs"/> runs, run k scoring the model <paramref name="trainedModel"/>(k) gives
    /// (trained <see cref="Epochs"/> epochs from its own seed; disposed here).
    /// </summary>
    public float[] MeanScores(Func<int, nn.Module<Tensor, Tensor>> trainedModel, Tensor inputs, Tensor labels, Func<Tensor, Tensor, Tensor> loss)
    {
        var sum = new double[inputs.shape[0]];
        for (var run = 0; run < Runs; run++)
        {
            using var model = trainedModel(run);
            var scores = ScoreExamples(model, inputs, labels, loss);
            for (var i = 0; i < sum.Length; i++) sum[i] += scores[i];
        }
        return sum.Select(s => (float)(s / Runs)).ToArray();
    }

    /// <summary>
    /// The kept examples' indices, ascending: by falling score (ties by index), skip the first ⌊Offset·N⌉ (fewer where
    /// rounding would leave less than <see cref="KeptCount"/>) and keep the next <see cref="KeptCount"/>.
    /// </summary>
    public int[] Select(IReadOnlyList<float> scores)
    {
        Validated();
        var kept = KeptCount(scores.Count);
        var skipped = Math.Min((int)Math.Round(Offset * scores.Count, MidpointRounding.AwayFromZero), scores.Count - kept);
        return Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i)
            .Skip(skipped).Take(kept).Order().ToArray();
    }
}
