using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// A decoder-only Transformer language model (GPT-style; Vaswani et al. 2017, Radford et al. 2019):
/// token + learned position embeddings, <see cref="TransformerConfig.Layers"/> pre-norm blocks of
/// causal self-attention and feed-forward layers, a final layer norm, and an output head tied to the
/// token embedding (Press and Wolf 2017): logits = h·Eᵀ. The head has no weight of its own: it reads
/// the embedding's <see cref="TorchSharp.Modules.Parameter"/>, so pruning, saving and loading treat the pair as one tensor.
/// Maps token ids (batch, time) to next-token logits (batch, time, vocabulary).
/// </summary>
public sealed class TransformerLanguageModel : Module<Tensor, Tensor>
{
    /// <summary>The architecture name in the CLI and in model files.</summary>
    public const string ArchitectureName = "transformer-lm";

    private readonly Embedding tokenEmbedding;
    private readonly Embedding positionEmbedding;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm finalNorm;

    /// <summary>Builds an untrained model; embeddings start from N(0, 0.02²) as in GPT-2.</summary>
    public TransformerLanguageModel(TransformerConfig config) : base(ArchitectureName)
    {
        TorchBackend.EnsureVerified();
        config.Validate();
        Config = config;
        tokenEmbedding = Embedding(config.VocabularySize, config.ModelDim);
        positionEmbedding = Embedding(config.ContextLength, config.ModelDim);
        blocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.Layers)
            .Select(_ => new TransformerBlock(config.ModelDim, config.Heads, config.FeedForwardDim)).ToArray());
        finalNorm = LayerNorm(config.ModelDim);
        RegisterComponents();
        EmbeddingInit.SmallNormal(tokenEmbedding, positionEmbedding);
    }

    /// <summary>The sizes the model was built with.</summary>
    public TransformerConfig Config { get; }

    /// <summary>The token embedding E, which is also the output head's weight.</summary>
    public Parameter TokenEmbeddingWeight => tokenEmbedding.weight!;

    /// <summary>The weight the output head multiplies by; the very same tensor as <see cref="TokenEmbeddingWeight"/>.</summary>
    public Tensor OutputHeadWeight => tokenEmbedding.weight!;

    /// <summary>Next-token logits for token ids of shape (batch, time), time ≤ the context length.</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var time = tokens.shape[1];
        if (time > Config.ContextLength) throw new ArgumentException($"input of {time} tokens is longer than the context length {Config.ContextLength}", nameof(tokens));
        using var positions = arange(HeldScalar.Of(time), dtype: int64, device: tokens.device);
        var x = tokenEmbedding.forward(tokens) + positionEmbedding.forward(positions);
        foreach (var block in blocks) x = block.forward(x);
        return functional.linear(finalNorm.forward(x), OutputHeadWeight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The part of the model a parameter belongs to, by its name: <c>attention</c>, <c>feed-forward</c>,
    /// <c>embedding</c> (token embedding = tied head, and positions) or <c>other</c> (layer norms).
    /// </summary>
    public static string GroupOf(string parameterName) =>
        parameterName.Contains(".attention.", StringComparison.Ordinal) ? "attention"
        : parameterName.Contains(".feedForward.", StringComparison.Ordinal) ? "feed-forward"
        : parameterName.Contains("Embedding", StringComparison.Ordinal) ? "embedding"
        : "other";
}
