using System.Text.Json.Nodes;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// <see cref="ModelFile"/> for <see cref="TransformerLanguageModel"/>: the header's <c>config</c> holds the
/// sizes and the character vocabulary, so that a file alone rebuilds the model and its tokenizer. The
/// tied head is stored once, as the token embedding it reads.
/// </summary>
public static class LanguageModelFile
{
    /// <summary>Writes the model, its masks and its tokenizer atomically.</summary>
    public static void Save(string path, TransformerLanguageModel model, CharacterTokenizer tokenizer, PruningMasks? masks, JsonObject? metadata = null)
    {
        var c = model.Config;
        var config = new JsonObject
        {
            ["vocabulary_size"] = c.VocabularySize,
            ["context_length"] = c.ContextLength,
            ["model_dim"] = c.ModelDim,
            ["heads"] = c.Heads,
            ["layers"] = c.Layers,
            ["feed_forward_dim"] = c.FeedForwardDim,
            ["vocabulary"] = tokenizer.Vocabulary,
        };
        // image_size 0 marks a model without images; classes is the number of token ids.
        ModelFile.Save(path, TransformerLanguageModel.ArchitectureName, 0, c.VocabularySize, model, masks, metadata, config);
    }

    /// <summary>The tokenizer stored with a language model.</summary>
    /// <exception cref="ModelFileException">The file holds no language model.</exception>
    public static CharacterTokenizer Tokenizer(string path, LoadedModel loaded)
    {
        var vocabulary = loaded.ArchitectureConfig?["vocabulary"]?.GetValue<string>();
        return vocabulary is null ? throw new ModelFileException(path, "holds no vocabulary (not a language model)") : Checked(path, () => new CharacterTokenizer(vocabulary));
    }

    /// <summary>The sizes stored with a language model.</summary>
    public static TransformerConfig Config(string path, JsonObject? config)
    {
        if (config is null) throw new ModelFileException(path, "header has no 'config' for the transformer-lm architecture");
        int Size(string key) => Checked(path, () => config[key]?.GetValue<int>() ?? throw new ModelFileException(path, $"config field '{key}' is missing"));
        var sizes = new TransformerConfig
        {
            VocabularySize = Size("vocabulary_size"), ContextLength = Size("context_length"), ModelDim = Size("model_dim"),
            Heads = Size("heads"), Layers = Size("layers"), FeedForwardDim = Size("feed_forward_dim"),
        };
        Checked(path, () => { sizes.Validate(); return 0; });
        // Bounds that keep a damaged header from allocating gigabytes before the size check.
        if (sizes.VocabularySize > 1 << 20 || sizes.ContextLength > 1 << 16 || sizes.ModelDim > 1 << 14 || sizes.Layers > 256 || sizes.FeedForwardDim > 1 << 16)
            throw new ModelFileException(path, "implausible transformer sizes in the header");
        return sizes;
    }

    internal static nn.Module<Tensor, Tensor> Build(string path, JsonObject? config) => new TransformerLanguageModel(Config(path, config));

    private static T Checked<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            throw new ModelFileException(path, $"bad transformer config: {e.Message}", e);
        }
    }
}
