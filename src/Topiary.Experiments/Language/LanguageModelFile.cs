using System.Text.Json.Nodes;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using static TorchSharp.torch;
using Topiary.Serialization;

namespace Topiary.Language;

/// <summary>
/// <see cref="ModelFile"/> for the Transformers, <see cref="TransformerLanguageModel"/> and
/// <see cref="TransformerTranslationModel"/>: the header's <c>config</c> holds the sizes and the character
/// vocabulary, so that a file alone rebuilds the model and its tokenizer. The tied head is stored once,
/// as the token embedding it reads.
/// </summary>
public static class LanguageModelFile
{
    /// <summary>Writes the language model, its masks and its tokenizer atomically.</summary>
    public static void Save(string path, TransformerLanguageModel model, CharacterTokenizer tokenizer, PruningMasks? masks, JsonObject? metadata = null) =>
        Write(path, TransformerLanguageModel.ArchitectureName, model.Config, tokenizer, model, masks, metadata);

    /// <summary>Writes the translation model, its masks and its vocabulary atomically.</summary>
    public static void Save(string path, TransformerTranslationModel model, TranslationVocabulary vocabulary, PruningMasks? masks, JsonObject? metadata = null) =>
        Write(path, TransformerTranslationModel.ArchitectureName, model.Config, vocabulary.Characters, model, masks, metadata);

    private static void Write(string path, string architecture, TransformerConfig c, CharacterTokenizer tokenizer, nn.Module<Tensor, Tensor> model,
        PruningMasks? masks, JsonObject? metadata)
    {
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
        ModelFile.Save(path, architecture, 0, c.VocabularySize, model, masks, metadata, config);
    }

    /// <summary>The tokenizer stored with a language model.</summary>
    /// <exception cref="ModelFileException">The file holds no language model.</exception>
    public static CharacterTokenizer Tokenizer(string path, LoadedModel loaded)
    {
        var vocabulary = loaded.ArchitectureConfig?["vocabulary"]?.GetValue<string>();
        return vocabulary is null ? throw new ModelFileException(path, "holds no vocabulary (not a language model)") : Checked(path, () => new CharacterTokenizer(vocabulary));
    }

    /// <summary>The ids stored with a translation model: its characters and the begin and end ids after them.</summary>
    /// <exception cref="ModelFileException">The file holds no vocabulary, or one that does not match the model's size.</exception>
    public static TranslationVocabulary TranslationVocabulary(string path, LoadedModel loaded)
    {
        var vocabulary = new TranslationVocabulary(Tokenizer(path, loaded));
        var size = Config(path, loaded.ArchitectureConfig).VocabularySize;
        return vocabulary.Size == size ? vocabulary
            : throw new ModelFileException(path, $"the vocabulary has {vocabulary.Size} ids with begin and end, the model {size}");
    }

    /// <summary>The sizes stored with a Transformer.</summary>
    public static TransformerConfig Config(string path, JsonObject? config)
    {
        if (config is null) throw new ModelFileException(path, "header has no 'config' for the Transformer architecture");
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

    internal static nn.Module<Tensor, Tensor> Build(string path, string architecture, JsonObject? config) =>
        architecture == TransformerTranslationModel.ArchitectureName ? new TransformerTranslationModel(Config(path, config)) : new TransformerLanguageModel(Config(path, config));

    private static T Checked<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            throw new ModelFileException(path, $"bad transformer config: {e.Message}", e);
        }
    }
}
