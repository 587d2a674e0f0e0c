using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// One pre-norm Transformer self-attention block (as GPT-2): x + Attention(LN(x)), then
/// x + FFN(LN(x)) with FFN(h) = W₂·GELU(W₁·h + b₁) + b₂. Causal, it is a language-model (decoder-only)
/// block; not causal, with the source padding masked, an encoder block of <see cref="TransformerTranslationModel"/>.
/// </summary>
public sealed class TransformerBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attentionNorm;
    private readonly MultiHeadAttention attention;
    private readonly LayerNorm feedForwardNorm;
    private readonly FeedForward feedForward;

    /// <summary>Creates a block of width <paramref name="modelDim"/>.</summary>
    public TransformerBlock(int modelDim, int heads, int feedForwardDim, bool causal = true) : base("transformer_block")
    {
        attentionNorm = LayerNorm(modelDim);
        attention = new MultiHeadAttention(modelDim, heads, causal);
        feedForwardNorm = LayerNorm(modelDim);
        feedForward = new FeedForward(modelDim, feedForwardDim);
        // Field names become parameter names: blocks.0.attention.query.weight, blocks.0.feedForward.expand.weight.
        // (A ModuleList registers its items' fields itself, so explicit register_module names would appear twice.)
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>Maps (batch, time, d_model) to the same shape; <paramref name="padding"/> (batch, time) is true at positions no one may attend to, or null.</summary>
    public Tensor Forward(Tensor x, Tensor? padding)
    {
        using var scope = NewDisposeScope();
        var normed = attentionNorm.forward(x);
        x = x + attention.forward(normed, normed, padding);
        x = x + feedForward.forward(feedForwardNorm.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}
