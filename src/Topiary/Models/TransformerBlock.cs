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
        // Field names become parameter names: blocks.0.attention.query.weight, blocks.0.feedForward.expand.weight.
        // (A ModuleList registers its items' fields itself, so explicit register_module names would appear twice.)
        RegisterComponents();
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
