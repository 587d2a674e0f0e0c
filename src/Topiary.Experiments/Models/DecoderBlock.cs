using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// One pre-norm Transformer decoder block with cross-attention: y + CausalSelfAttention(LN(y)) (a causal <see cref="MultiHeadAttention"/>),
/// then y + CrossAttention(LN(y), encoder output), then y + FFN(LN(y)). Target position t sees
/// target positions ≤ t and the whole source.
/// </summary>
public sealed class DecoderBlock : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly LayerNorm attentionNorm;
    private readonly MultiHeadAttention attention;
    private readonly LayerNorm crossAttentionNorm;
    private readonly MultiHeadAttention crossAttention;
    private readonly LayerNorm feedForwardNorm;
    private readonly FeedForward feedForward;

    /// <summary>Creates a block of width <paramref name="modelDim"/>.</summary>
    public DecoderBlock(int modelDim, int heads, int feedForwardDim) : base("decoder_block")
    {
        attentionNorm = LayerNorm(modelDim);
        attention = new MultiHeadAttention(modelDim, heads, causal: true);
        crossAttentionNorm = LayerNorm(modelDim);
        crossAttention = new MultiHeadAttention(modelDim, heads, causal: false);
        feedForwardNorm = LayerNorm(modelDim);
        feedForward = new FeedForward(modelDim, feedForwardDim);
        RegisterComponents();
    }

    /// <summary>
    /// Maps target states y (batch, T, d_model) given the encoder output <paramref name="memory"/>
    /// (batch, S, d_model) and its padding (batch, S).
    /// </summary>
    public override Tensor forward(Tensor y, Tensor memory, Tensor memoryPadding)
    {
        using var scope = NewDisposeScope();
        var normed = attentionNorm.forward(y);
        y = y + attention.forward(normed, normed, null);
        y = y + crossAttention.forward(crossAttentionNorm.forward(y), memory, memoryPadding);
        y = y + feedForward.forward(feedForwardNorm.forward(y));
        return y.MoveToOuterDisposeScope();
    }
}
