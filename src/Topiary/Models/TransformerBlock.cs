using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// One pre-norm Transformer decoder block (as GPT-2): x + Attention(LN(x)), then
/// x + FFN(LN(x)) with FFN(h) = W₂·GELU(W₁·h + b₁) + b₂.
/// </summary>
public sealed class TransformerBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attentionNorm;
    private readonly CausalSelfAttention attention;
    private readonly LayerNorm feedForwardNorm;
    private readonly FeedForward feedForward;

    /// <summary>Creates a block of width <paramref name="modelDim"/>.</summary>
    public TransformerBlock(int modelDim, int heads, int feedForwardDim) : base("transformer_block")
    {
        attentionNorm = LayerNorm(modelDim);
        attention = new CausalSelfAttention(modelDim, heads);
        feedForwardNorm = LayerNorm(modelDim);
        feedForward = new FeedForward(modelDim, feedForwardDim);
        // Explicit names make the groups readable in reports: blocks.0.attention.query.weight, blocks.0.feed_forward.expand.weight.
        register_module("attention_norm", attentionNorm);
        register_module("attention", attention);
        register_module("feed_forward_norm", feedForwardNorm);
        register_module("feed_forward", feedForward);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + attention.forward(attentionNorm.forward(x));
        x = x + feedForward.forward(feedForwardNorm.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}
