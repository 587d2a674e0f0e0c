using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// A small encoder-decoder Transformer for translation (Vaswani et al. 2017), pre-norm, with
/// <see cref="TransformerConfig.Layers"/> encoder and as many decoder blocks (the paper's small
/// Taskmaster-1 model is 2 + 2). One token embedding E serves the source, the target and the output
/// head (logits = h·Eᵀ; Vaswani et al. §3.4, Press and Wolf 2017), which suits a character vocabulary
/// shared by both languages; source and target positions have learned embeddings of their own.
/// <see cref="TransformerConfig.ContextLength"/> bounds the source and the target length in ids.
/// The last id of the vocabulary is the end-of-sequence id, which also pads the source. As a
/// <c>Module&lt;Tensor, Tensor&gt;</c> (what the training and pruning loops drive) the model takes
/// source and decoder input packed side by side, each padded to the context length (<see cref="Pack"/>).
/// </summary>
public sealed class TransformerTranslationModel : Module<Tensor, Tensor>
{
    /// <summary>The architecture name.</summary>
    public const string ArchitectureName = "transformer-mt";

    private readonly Embedding tokenEmbedding;
    private readonly Embedding sourcePositionEmbedding;
    private readonly Embedding targetPositionEmbedding;
    private readonly ModuleList<TransformerBlock> encoder;
    private readonly LayerNorm encoderNorm;
    private readonly ModuleList<DecoderBlock> decoder;
    private readonly LayerNorm decoderNorm;

    /// <summary>Builds an untrained model; embeddings start from N(0, 0.02²), as the language model's.</summary>
    public TransformerTranslationModel(TransformerConfig config) : base(ArchitectureName)
    {
        TorchBackend.EnsureVerified();
        config.Validate();
        Config = config;
        tokenEmbedding = Embedding(config.VocabularySize, config.ModelDim);
        sourcePositionEmbedding = Embedding(config.ContextLength, config.ModelDim);
        targetPositionEmbedding = Embedding(config.ContextLength, config.ModelDim);
        encoder = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.Layers)
            .Select(_ => new TransformerBlock(config.ModelDim, config.Heads, config.FeedForwardDim, causal: false)).ToArray());
        encoderNorm = LayerNorm(config.ModelDim);
        decoder = new ModuleList<DecoderBlock>(Enumerable.Range(0, config.Layers)
            .Select(_ => new DecoderBlock(config.ModelDim, config.Heads, config.FeedForwardDim)).ToArray());
        decoderNorm = LayerNorm(config.ModelDim);
        RegisterComponents();
        EmbeddingInit.SmallNormal(tokenEmbedding, sourcePositionEmbedding, targetPositionEmbedding);
    }

    /// <summary>The sizes the model was built with.</summary>
    public TransformerConfig Config { get; }

    /// <summary>
    /// Teacher-forced logits (batch, C, vocabulary) of a <see cref="Pack"/>ed (batch, 2C) input, C the
    /// context length: the source is padded after its first end id.
    /// </summary>
    public override Tensor forward(Tensor packed)
    {
        var context = Config.ContextLength;
        if (packed.dim() != 2 || packed.shape[1] != 2 * context)
            throw new ArgumentException($"a packed input has shape (batch, {2 * context}), got ({string.Join(", ", packed.shape)})", nameof(packed));
        using var scope = NewDisposeScope();
        var source = packed.narrow(1, 0, context);
        var isEnd = source.eq(HeldScalar.Of(Config.VocabularySize - 1)).to(int64);
        // Padding is every position after the first end id (the end id itself is seen).
        var padding = isEnd.cumsum(1).sub(isEnd).gt(HeldScalar.Of(0));
        return Forward(source, padding, packed.narrow(1, context, context)).MoveToOuterDisposeScope();
    }

    /// <summary>Source (batch, C) and decoder input (batch, C), each padded to the context length C, side by side.</summary>
    public static Tensor Pack(Tensor source, Tensor decoderInput) => cat([source, decoderInput], 1);

    /// <summary>Teacher-forced next-token logits (batch, T, vocabulary) of the decoder input given the source.</summary>
    public Tensor Forward(Tensor source, Tensor sourcePadding, Tensor decoderInput)
    {
        using var scope = NewDisposeScope();
        var memory = Encode(source, sourcePadding);
        return Decode(decoderInput, memory, sourcePadding).MoveToOuterDisposeScope();
    }

    /// <summary>The encoder output (batch, S, d_model) of source ids (batch, S).</summary>
    public Tensor Encode(Tensor source, Tensor sourcePadding)
    {
        using var scope = NewDisposeScope();
        var x = Embed(source, sourcePositionEmbedding);
        foreach (var block in encoder) x = block.Forward(x, sourcePadding);
        return encoderNorm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Next-token logits (batch, T, vocabulary) of decoder input ids (batch, T) over an encoded source.</summary>
    public Tensor Decode(Tensor decoderInput, Tensor memory, Tensor sourcePadding)
    {
        using var scope = NewDisposeScope();
        var y = Embed(decoderInput, targetPositionEmbedding);
        foreach (var block in decoder) y = block.forward(y, memory, sourcePadding);
        return functional.linear(decoderNorm.forward(y), tokenEmbedding.weight!).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The part of the model a parameter belongs to, by its name: <c>cross-attention</c> (the decoder's
    /// attention over the source), else as <see cref="TransformerLanguageModel.GroupOf"/>: <c>attention</c>
    /// (encoder and decoder self-attention), <c>feed-forward</c>, <c>embedding</c> (the shared token
    /// embedding = tied head, and both position embeddings) or <c>other</c> (layer norms).
    /// </summary>
    public static string GroupOf(string parameterName) =>
        parameterName.Contains(".crossAttention.", StringComparison.Ordinal) ? "cross-attention" : TransformerLanguageModel.GroupOf(parameterName);

    private Tensor Embed(Tensor ids, Embedding positions)
    {
        var time = ids.shape[1];
        if (time > Config.ContextLength) throw new ArgumentException($"input of {time} ids is longer than the context length {Config.ContextLength}", nameof(ids));
        using var position = arange(HeldScalar.Of(time), dtype: int64, device: ids.device);
        return tokenEmbedding.forward(ids) + positions.forward(position);
    }

    /// <summary>
    /// Greedy decoding: starting from <paramref name="begin"/>, appends the most likely next id until
    /// every row has produced <paramref name="end"/> or <paramref name="maxLength"/> ids (at most the
    /// context length). Returns each row's ids without <paramref name="begin"/>, up to and excluding <paramref name="end"/>.
    /// </summary>
    public IReadOnlyList<long[]> Translate(Tensor source, Tensor sourcePadding, long begin, long end, int maxLength)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var steps = Math.Min(maxLength, Config.ContextLength - 1);
        var memory = Encode(source, sourcePadding);
        var rows = (int)source.shape[0];
        var output = Enumerable.Range(0, rows).Select(_ => new List<long>()).ToArray();
        var finished = new bool[rows];
        var input = full(rows, 1, HeldScalar.Of(begin), dtype: int64, device: source.device);
        // Re-decoding the whole prefix each step (no key/value cache) keeps the decoder one code path.
        for (var step = 0; step < steps && finished.Contains(false); step++)
        {
            var next = Decode(input, memory, sourcePadding).select(1, -1).argmax(-1);
            var ids = next.data<long>().ToArray();
            for (var r = 0; r < rows; r++)
            {
                if (finished[r]) continue;
                if (ids[r] == end) finished[r] = true;
                else output[r].Add(ids[r]);
            }
            input = cat([input, next.unsqueeze(1)], 1);
        }
        return output.Select(o => o.ToArray()).ToArray();
    }
}
