namespace Topiary.Models;

/// <summary>
/// Sizes of a <see cref="TransformerLanguageModel"/>. The defaults (d_model 128, 4 heads, 2 layers,
/// feed-forward 512, context 128 characters) train on 2 CPU cores; the paper's small Taskmaster-1
/// Transformer has d_model 256, 4 heads and 2 + 2 layers.
/// </summary>
public sealed record TransformerConfig
{
    /// <summary>Number of token ids.</summary>
    public required int VocabularySize { get; init; }
    /// <summary>Longest input in tokens (rows of the position embedding).</summary>
    public int ContextLength { get; init; } = 128;
    /// <summary>d_model: width of the embeddings and of the residual stream.</summary>
    public int ModelDim { get; init; } = 128;
    /// <summary>Attention heads; must divide <see cref="ModelDim"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Hidden width of each feed-forward block.</summary>
    public int FeedForwardDim { get; init; } = 512;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first size that is out of range.</summary>
    public void Validate()
    {
        if (VocabularySize < 2) throw new ArgumentException($"vocabulary size must be at least 2, got {VocabularySize}");
        if (ContextLength < 1) throw new ArgumentException($"context length must be at least 1, got {ContextLength}");
        if (ModelDim < 1 || Heads < 1 || ModelDim % Heads != 0) throw new ArgumentException($"d_model {ModelDim} must be a positive multiple of the {Heads} heads");
        if (Layers < 1) throw new ArgumentException($"layers must be at least 1, got {Layers}");
        if (FeedForwardDim < 1) throw new ArgumentException($"feed-forward width must be at least 1, got {FeedForwardDim}");
    }
}
