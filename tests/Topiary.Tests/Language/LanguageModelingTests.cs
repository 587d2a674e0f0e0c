using Topiary.Language;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Language;

public class LanguageModelingTests
{
    private static TextCorpus Corpus(int characters) =>
        new("test", "memory", string.Concat(Enumerable.Range(0, characters / 10 + 1).Select(i => $"line {i % 1000:D4}\n"))[..characters]);

    [Fact]
    public void Splits_are_disjoint_blocks_drawn_by_the_seed()
    {
        var corpus = Corpus(20_000);
        using var a = LanguageModelingData.From(corpus, seed: 1, contextLength: 16);
        using var b = LanguageModelingData.From(corpus, seed: 1, contextLength: 16);
        using var c = LanguageModelingData.From(corpus, seed: 2, contextLength: 16);
        Assert.Equal(corpus.Text.Length, a.Train.shape[0] + a.Validation.shape[0] + a.Test.shape[0]);
        Assert.True(a.Validation.equal(b.Validation).all().item<bool>() && a.Test.equal(b.Test).all().item<bool>());
        Assert.False(a.Validation.shape[0] == c.Validation.shape[0] && a.Validation.equal(c.Validation).all().item<bool>(), "another seed drew the same validation blocks");
        Assert.True(a.Validation.shape[0] >= 17 && a.Test.shape[0] >= 17);
    }

    [Fact]
    public void Epoch_batches_are_shifted_windows_in_a_repeatable_order()
    {
        using var data = LanguageModelingData.From(Corpus(20_000), seed: 1, contextLength: 16);
        var task = new LanguageModelingTask(data, 16);
        var first = task.EpochBatches(1, 0, 8).First();
        var again = task.EpochBatches(1, 0, 8).First();
        Assert.Equal(new long[] { 8, 16 }, first.Inputs.shape);
        Assert.True(first.Inputs.equal(again.Inputs).all().item<bool>());
        // Targets are the inputs moved one token on.
        Assert.True(first.Inputs.narrow(1, 1, 15).equal(first.Targets.narrow(1, 0, 15)).all().item<bool>());
        Assert.Equal(task.StepsPerEpoch(8), task.EpochBatches(1, 0, 8).Count());
    }

    [Fact]
    public void A_tiny_model_overfits_a_short_text()
    {
        manual_seed(4);
        var text = string.Concat(Enumerable.Repeat(TinyLanguageModels.ShortText, 8));
        var tokenizer = CharacterTokenizer.FromText(text);
        using var tokens = tensor(tokenizer.Encode(text));
        var model = new TransformerLanguageModel(TinyLanguageModels.Config(tokenizer.Size, context: 16) with { ModelDim = 32, FeedForwardDim = 64 });
        var windows = Enumerable.Range(0, 24).Select(i => (long)i * 13).ToArray();
        using var index = tensor(windows).unsqueeze(1) + arange(17, dtype: int64).unsqueeze(0);
        using var batch = tokens.index_select(0, index.flatten()).view(windows.Length, 17);
        using var inputs = batch.narrow(1, 0, 16).contiguous();
        using var targets = batch.narrow(1, 1, 16).contiguous();
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-2);
        double Perplexity()
        {
            using var _ = no_grad();
            using var logits = model.forward(inputs);
            return Math.Exp(nn.functional.cross_entropy(logits.reshape(-1, tokenizer.Size), targets.reshape(-1)).item<float>());
        }
        var before = Perplexity();
        // Tiny tensors: one thread avoids libtorch's thread hand-offs, which dominate on a loaded machine.
        var threads = get_num_threads();
        set_num_threads(1);
        try
        {
            for (var step = 0; step < 120; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                nn.functional.cross_entropy(model.forward(inputs).reshape(-1, tokenizer.Size), targets.reshape(-1)).backward();
                optimizer.step();
            }
        }
        finally
        {
            set_num_threads(threads);
        }
        var after = Perplexity();
        // A uniform guess over the vocabulary scores its size; memorized text scores close to 1.
        Assert.True(before > 8, $"the untrained model already scored {before:F2}");
        Assert.True(after < 1.5, $"perplexity only fell from {before:F2} to {after:F2}");
    }

    [Fact]
    public void Perplexity_is_the_exponential_of_the_mean_token_loss()
    {
        manual_seed(5);
        using var data = LanguageModelingData.From(Corpus(8_000), seed: 1, contextLength: 8);
        var task = new LanguageModelingTask(data, 8);
        var model = new TransformerLanguageModel(TinyLanguageModels.Config(data.Tokenizer.Size));
        var result = task.Validate(model);
        Assert.Equal(Math.Exp(result.Loss), result.Metric, 9);
        Assert.False(task.Metric.HigherIsBetter);
        Assert.Throws<PruningOptionException>(() => new PruningOptions { Ceiling = 0.5 }.Validate());
        Assert.Equal(7.5, new PruningOptions { Ceiling = 7.5 }.BoundFor(higherIsBetter: false));
    }
}
