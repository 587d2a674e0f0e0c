using Topiary.Methods;
using Topiary.Experiments;
using Topiary.Backend;
using Topiary.Language;
using Topiary.Models;
using Topiary.Training;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Language;

public class TranslationTaskTests
{
    private static readonly VersePair[] Phrases =
    [
        new(new VerseKey("Ph", 1, 1), "el gato come pan", "the cat eats bread"),
        new(new VerseKey("Ph", 1, 2), "el perro bebe agua", "the dog drinks water"),
        new(new VerseKey("Ph", 1, 3), "la luz es buena", "the light is good"),
        new(new VerseKey("Ph", 1, 4), "dios ve la tierra", "god sees the earth"),
    ];

    private static (TranslationTask Task, TransformerTranslationModel Model) Tiny()
    {
        var vocabulary = TranslationVocabulary.FromPairs(Phrases);
        var split = new ParallelSplit(Phrases, Phrases, Phrases);
        var config = new TransformerConfig { VocabularySize = vocabulary.Size, ContextLength = 24, ModelDim = 32, Heads = 2, Layers = 1, FeedForwardDim = 64 };
        return (new TranslationTask(split, vocabulary, config.ContextLength), new TransformerTranslationModel(config));
    }

    [Fact]
    public void A_packed_batch_gives_the_logits_of_the_explicitly_padded_one()
    {
        manual_seed(7);
        var (task, model) = Tiny();
        using var _ = no_grad();
        model.eval();
        using var full = TranslationBatch.From(Phrases, task.Vocabulary, 24, padToMaxLength: true);
        using var batch = TranslationBatch.From(Phrases, task.Vocabulary, 24);
        using var inputs = TransformerTranslationModel.Pack(full.Source, full.DecoderInput);
        using var packed = model.forward(inputs);
        using var explicitly = model.Forward(batch.Source, batch.SourcePadding, batch.DecoderInput);
        Assert.True(packed.narrow(1, 0, explicitly.shape[1]).allclose(explicitly, rtol: 0, atol: 1e-5), "the padding read from a packed source differs");

        // An epoch's one batch holds every pair; labels beyond each target's end id are ignored.
        var (epochInputs, targets) = task.EpochBatches(seed: 1, epoch: 0, batchSize: 4).Single();
        using (epochInputs)
        using (targets)
        {
            Assert.Equal(new long[] { 4, 48 }, epochInputs.shape);
            Assert.Equal(Phrases.Sum(p => p.Target.Length + 1), targets.ne(TranslationBatch.IgnoredLabel).sum().item<long>());
        }
        Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 24, dtype: int64)));
    }

    [Fact]
    public void The_pruning_loop_prunes_a_translation_model_under_a_perplexity_ceiling_and_it_still_translates()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        manual_seed(8);
        var (task, model) = Tiny();
        var options = LanguageModelSubject.Defaults.Options with
        {
            Method = new RelevancePruning { CropFraction = 0.2 }, Optimizer = new AdamOptions { LearningRate = 0.01 },
            DenseEpochs = 250, Epochs = 40, BatchSize = 4, EvalEvery = 4, Ceiling = 1.1, Patience = 40, Seed = 8,
        };
        var before = task.Validate(model).Metric;
        DenseTrainer.Train(model, task, options);
        var dense = task.Validate(model).Metric;
        Assert.True(dense < 1.05, $"dense validation perplexity {dense} (from {before}) did not fall below 1.05");
        Assert.Equal(100, task.Bleu(model, Phrases).Bleu.Score, 6);

        var loop = PruningMethods.Loop(model, task, options);
        var outcome = loop.Run();
        Assert.True(loop.Masks.Density < 0.9, $"density {loop.Masks.Density}: the loop did not prune");
        Assert.True(outcome.SelectedValidation.Metric <= 1.1);
        Assert.Contains(loop.Masks.Entries, e => e.Name.Contains(".crossAttention.", StringComparison.Ordinal) && e.Mask.sum().item<float>() < e.Mask.numel());
        var (bleu, translations) = task.Bleu(model, Phrases);
        Assert.True(bleu.Score > 50, $"pruned BLEU {bleu.Score}: {string.Join(" | ", translations)}");
    }
}
