using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Language;

public class TransformerTranslationModelTests
{
    private static readonly VersePair[] Numbers =
    [
        new(new VerseKey("Num", 1, 1), "uno", "one"),
        new(new VerseKey("Num", 1, 2), "dos", "two"),
        new(new VerseKey("Num", 1, 3), "tres", "three"),
        new(new VerseKey("Num", 1, 4), "cuatro", "four"),
    ];

    private static TransformerConfig Tiny(int vocabulary) => new()
    {
        VocabularySize = vocabulary, ContextLength = 12, ModelDim = 32, Heads = 2, Layers = 1, FeedForwardDim = 64,
    };

    [Fact]
    public void A_decoder_output_never_depends_on_later_target_tokens()
    {
        manual_seed(3);
        using var model = new TransformerTranslationModel(Tiny(12));
        model.eval();
        using var _ = no_grad();
        using var source = tensor(new long[] { 3, 4, 5 }).unsqueeze(0);
        using var padding = zeros(1, 3, dtype: ScalarType.Bool);
        using var memory = model.Encode(source, padding);
        using var target = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }).unsqueeze(0);
        using var original = model.Decode(target, memory, padding);
        for (var t = 0; t < 7; t++)
        {
            using var changed = target.clone();
            changed.narrow(1, t + 1, 7 - t).fill_(11);
            using var logits = model.Decode(changed, memory, padding);
            Assert.True(original.narrow(1, 0, t + 1).allclose(logits.narrow(1, 0, t + 1), rtol: 0, atol: 1e-6), $"target position ≤ {t} saw a later token");
            Assert.False(original.narrow(1, t + 1, 1).allclose(logits.narrow(1, t + 1, 1), rtol: 0, atol: 1e-6), $"position {t + 1} ignored its own token");
        }
    }

    [Fact]
    public void Source_padding_is_invisible_and_the_source_itself_is_seen()
    {
        manual_seed(4);
        using var model = new TransformerTranslationModel(Tiny(12));
        model.eval();
        using var _ = no_grad();
        using var decoderInput = tensor(new long[] { 10, 1, 2 }).unsqueeze(0);
        using var source = tensor(new long[] { 3, 4, 5 }).unsqueeze(0);
        using var padded = tensor(new long[] { 3, 4, 5, 9, 9 }).unsqueeze(0);
        using var noPadding = zeros(1, 3, dtype: ScalarType.Bool);
        using var twoPadded = tensor(new[] { false, false, false, true, true }).unsqueeze(0);
        using var plain = model.Forward(source, noPadding, decoderInput);
        using var withPadding = model.Forward(padded, twoPadded, decoderInput);
        Assert.True(plain.allclose(withPadding, rtol: 0, atol: 1e-5), "padded source positions changed the output");
        using var otherSource = tensor(new long[] { 3, 4, 6 }).unsqueeze(0);
        using var other = model.Forward(otherSource, noPadding, decoderInput);
        Assert.False(plain.allclose(other, rtol: 0, atol: 1e-6), "the decoder ignored the source");
    }

    [Fact]
    public void Pruning_masks_cover_self_and_cross_attention_feed_forward_and_the_shared_embedding_once()
    {
        manual_seed(6);
        using var model = new TransformerTranslationModel(Tiny(12));
        var names = ParameterSelector.Select(model, ParameterScope.Weights).Select(p => p.Name).ToList();
        foreach (var projection in new[] { "query", "key", "value", "output" })
        {
            Assert.Contains($"encoder.0.attention.{projection}.weight", names);
            Assert.Contains($"decoder.0.attention.{projection}.weight", names);
            Assert.Contains($"decoder.0.crossAttention.{projection}.weight", names);
        }
        Assert.Contains("encoder.0.feedForward.expand.weight", names);
        Assert.Contains("decoder.0.feedForward.contract.weight", names);
        // One token embedding for source, target and head: a (vocabulary × d_model) weight occurs once.
        Assert.Single(names, n => n.Contains("tokenEmbedding", StringComparison.Ordinal));
        Assert.Contains("sourcePositionEmbedding.weight", names);
        Assert.Contains("targetPositionEmbedding.weight", names);
        Assert.Equal(new[] { "attention", "cross-attention", "embedding", "feed-forward" }, names.Select(TransformerTranslationModel.GroupOf).Distinct().Order());

        // Pruning the embedding reaches the output head: zeroing a token's row zeroes its logit
        // (before the bias-free head, its row is the only weight that token has).
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.Weights));
        using (no_grad()) masks.Entries.Single(e => e.Name == "tokenEmbedding.weight").Mask[7].zero_();
        masks.ApplyToWeights();
        model.eval();
        using var _ = no_grad();
        using var source = tensor(new long[] { 3, 4, 5 }).unsqueeze(0);
        using var padding = zeros(1, 3, dtype: ScalarType.Bool);
        using var input = tensor(new long[] { 1, 2 }).unsqueeze(0);
        using var logits = model.Forward(source, padding, input);
        Assert.True(logits.select(2, 7).abs().max().item<float>() == 0, "the head does not read the pruned embedding row");
        Assert.True(logits.select(2, 6).abs().max().item<float>() > 0);
    }

    [Fact]
    public void A_batch_shifts_the_target_and_pads_with_ignored_labels()
    {
        var vocabulary = TranslationVocabulary.FromPairs(Numbers);
        using var batch = TranslationBatch.From([Numbers[0], Numbers[2]], vocabulary, maxLength: 12);
        long E = vocabulary.End, B = vocabulary.Begin, I = TranslationBatch.IgnoredLabel;
        long[] Ids(string s) => vocabulary.Characters.Encode(s);
        Assert.Equal(Ids("uno").Append(E).Append(E).Concat(Ids("tres")).Append(E), batch.Source.data<long>().ToArray());
        Assert.Equal(new[] { false, false, false, false, true, false, false, false, false, false }, batch.SourcePadding.data<bool>().ToArray());
        Assert.Equal(new[] { B }.Concat(Ids("one")).Append(E).Append(E).Append(B).Concat(Ids("three")), batch.DecoderInput.data<long>().ToArray());
        Assert.Equal(Ids("one").Append(E).Append(I).Append(I).Concat(Ids("three")).Append(E), batch.DecoderTarget.data<long>().ToArray());
        Assert.Equal("three", vocabulary.Decode(Ids("three").Append(E).Concat(Ids("xx"))));
    }

    [Fact]
    public void A_tiny_model_overfits_a_handful_of_pairs_and_greedy_decoding_reproduces_them()
    {
        using var threads = TorchThreads.Use(1);
        manual_seed(5);
        var vocabulary = TranslationVocabulary.FromPairs(Numbers);
        using var model = new TransformerTranslationModel(Tiny(vocabulary.Size));
        using var batch = TranslationBatch.From(Numbers, vocabulary, maxLength: 12);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        var loss = double.NaN;
        for (var step = 0; step < 300 && !(loss < 0.02); step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.Forward(batch.Source, batch.SourcePadding, batch.DecoderInput);
            var value = nn.functional.cross_entropy(logits.view(-1, vocabulary.Size), batch.DecoderTarget.view(-1), ignore_index: TranslationBatch.IgnoredLabel);
            value.backward();
            optimizer.step();
            loss = value.item<float>();
        }
        Assert.True(loss < 0.02, $"training loss {loss} stayed above 0.02");

        model.eval();
        var translations = model.Translate(batch.Source, batch.SourcePadding, vocabulary.Begin, vocabulary.End, maxLength: 11)
            .Select(vocabulary.Decode);
        Assert.Equal(Numbers.Select(p => p.Target), translations);
    }

    [Fact]
    public void A_saved_pruned_translation_model_loads_back_with_its_masks_vocabulary_and_outputs()
    {
        manual_seed(9);
        var vocabulary = TranslationVocabulary.FromPairs(Numbers);
        using var model = new TransformerTranslationModel(Tiny(vocabulary.Size));
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.Weights));
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        using var dir = new TestDirectory();
        var path = dir.File("mt.topiary");

        LanguageModelFile.Save(path, model, vocabulary, masks, new System.Text.Json.Nodes.JsonObject { ["seed"] = 9 });
        var loaded = ModelFile.Load(path);

        var mt = Assert.IsType<TransformerTranslationModel>(loaded.Model);
        Assert.Equal(model.Config, mt.Config);
        Assert.Equal(vocabulary.Characters.Vocabulary, LanguageModelFile.TranslationVocabulary(path, loaded).Characters.Vocabulary);
        Assert.Equal(masks.Entries.Select(e => e.Name).Order(), loaded.Masks.Keys.Order());
        Assert.True(TensorAssert.Same(masks.Entries.Single(e => e.Name == "decoder.0.crossAttention.query.weight").Mask, loaded.Masks["decoder.0.crossAttention.query.weight"]));
        model.eval();
        mt.eval();
        using var _ = no_grad();
        using var batch = TranslationBatch.From(Numbers, vocabulary, 12, padToMaxLength: true);
        using var packed = TransformerTranslationModel.Pack(batch.Source, batch.DecoderInput);
        Assert.True(TensorAssert.Same(model.forward(packed), mt.forward(packed)), "the loaded model computes other logits");
        Assert.Equal(9, loaded.Metadata["seed"]!.GetValue<int>());
    }

    [Fact]
    public void A_translation_file_whose_vocabulary_does_not_match_its_size_is_refused_in_one_line()
    {
        var vocabulary = TranslationVocabulary.FromPairs(Numbers);
        using var model = new TransformerTranslationModel(Tiny(vocabulary.Size + 1));
        using var dir = new TestDirectory();
        var path = dir.File("mt.topiary");
        LanguageModelFile.Save(path, model, vocabulary, masks: null);
        var loaded = ModelFile.Load(path);
        var error = Assert.Throws<ModelFileException>(() => LanguageModelFile.TranslationVocabulary(path, loaded));
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
