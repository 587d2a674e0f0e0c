using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using Topiary.Language;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Language;

public class TransformerLanguageModelTests
{
    [Fact]
    public void An_output_never_depends_on_later_tokens()
    {
        manual_seed(1);
        using var model = new TransformerLanguageModel(TinyLanguageModels.Config());
        model.eval();
        using var _ = no_grad();
        using var first = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }).unsqueeze(0);
        for (var t = 0; t < 7; t++)
        {
            // Change every token after position t; the logits up to t must not move.
            using var changed = first.clone();
            changed.narrow(1, t + 1, 7 - t).fill_(11);
            using var a = model.forward(first).narrow(1, 0, t + 1);
            using var b = model.forward(changed).narrow(1, 0, t + 1);
            Assert.True(a.allclose(b, rtol: 0, atol: 1e-6), $"position ≤ {t} saw a later token");
            // And the change is visible where it is allowed to be, so the check above is not vacuous.
            using var later = model.forward(changed).narrow(1, t + 1, 1);
            using var before = model.forward(first).narrow(1, t + 1, 1);
            Assert.False(later.allclose(before, rtol: 0, atol: 1e-6), $"position {t + 1} ignored its own token");
        }
    }

    [Fact]
    public void The_tied_head_shares_storage_with_the_embedding_after_pruning_and_after_save_and_load()
    {
        manual_seed(2);
        var model = new TransformerLanguageModel(TinyLanguageModels.Config());
        AssertShared(model);

        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneFraction(masks, 0.6);
        AssertShared(model);
        Assert.True(model.OutputHeadWeight.eq(0).sum().item<long>() > 0, "the crop removed nothing from the embedding/head");
        // Counted once: one masked tensor for the pair, and no parameter of the model is the head alone.
        Assert.Single(masks.Entries, e => e.Parameter.shape.SequenceEqual(model.OutputHeadWeight.shape) && Shared(e.Parameter, model.OutputHeadWeight));
        // No second copy among the parameters: V·D + T·D + per block 4(D² + D) + 2DF + F + D + 4D (layer norms), + 2D.
        var (v, t, d, f) = (12L, 8L, 16L, 32L);
        Assert.Equal(v * d + t * d + 2 * (4 * (d * d + d) + 2 * d * f + f + d + 4 * d) + 2 * d, ModelCatalog.CountParameters(model));

        using var dir = new TestDirectory();
        var path = dir.File("lm.topiary");
        var tokenizer = new CharacterTokenizer(CharacterTokenizer.Unknown + "abcdefghijk");
        LanguageModelFile.Save(path, model, tokenizer, masks);
        var loaded = ModelFile.Load(path);
        var lm = Assert.IsType<TransformerLanguageModel>(loaded.Model);
        Assert.True(TensorAssert.Same(model.TokenEmbeddingWeight, lm.OutputHeadWeight));
        Assert.True(TensorAssert.Same(masks.Entries.Single(e => e.Name == "tokenEmbedding.weight").Mask, loaded.Masks["tokenEmbedding.weight"]));
        Assert.Equal(tokenizer.Vocabulary, LanguageModelFile.Tokenizer(path, loaded).Vocabulary);
        using var input = tensor(new long[] { 1, 5, 3, 0 }).unsqueeze(0);
        model.eval();
        lm.eval();
        Assert.True(model.forward(input).allclose(lm.forward(input), rtol: 0, atol: 1e-6));
        AssertShared(lm);
    }

    private static void AssertShared(TransformerLanguageModel model) =>
        Assert.True(Shared(model.TokenEmbeddingWeight, model.OutputHeadWeight), "the head does not read the embedding's storage");

    /// <summary>Whether a write through <paramref name="a"/> is seen by <paramref name="b"/>: one storage, not two equal copies.</summary>
    private static bool Shared(Tensor a, Tensor b)
    {
        using var _ = no_grad();
        var saved = a[1, 2].item<float>();
        a[1, 2] = 42f;
        var seen = b[1, 2].item<float>() == 42f;
        a[1, 2] = saved;
        return seen;
    }

    [Fact]
    public void Pruning_masks_cover_attention_feed_forward_and_embedding_weights()
    {
        manual_seed(3);
        var model = new TransformerLanguageModel(TinyLanguageModels.Config());
        var names = ParameterSelector.Select(model, ParameterScope.Weights).Select(p => p.Name).ToList();
        foreach (var block in new[] { 0, 1 })
        {
            foreach (var projection in new[] { "query", "key", "value", "output" })
                Assert.Contains($"blocks.{block}.attention.{projection}.weight", names);
            Assert.Contains($"blocks.{block}.feedForward.expand.weight", names);
            Assert.Contains($"blocks.{block}.feedForward.contract.weight", names);
        }
        Assert.Contains("tokenEmbedding.weight", names);
        Assert.Contains("positionEmbedding.weight", names);
        Assert.Equal(new[] { "attention", "embedding", "feed-forward" }, names.Select(TransformerLanguageModel.GroupOf).Distinct().Order());

        // A global crop reaches every part: make one entry of each part the smallest in the model.
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.Weights));
        using (no_grad())
        {
            foreach (var e in masks.Entries) e.Parameter.abs_().add_(1);
            foreach (var name in new[] { "tokenEmbedding.weight", "positionEmbedding.weight", "blocks.1.attention.key.weight", "blocks.0.feedForward.contract.weight" })
                masks.Entries.Single(e => e.Name == name).Parameter.view(-1)[0] = 0.001f;
        }
        GlobalMagnitudePruner.PruneCount(masks, 4);
        foreach (var name in new[] { "tokenEmbedding.weight", "positionEmbedding.weight", "blocks.1.attention.key.weight", "blocks.0.feedForward.contract.weight" })
            Assert.Equal(0f, masks.Entries.Single(e => e.Name == name).Mask.view(-1)[0].item<float>());
    }
}
