using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Topiary.Backend;

namespace Topiary.Models;

/// <summary>
/// Multi-head attention (Vaswani et al. 2017): queries from x, keys and values from a memory, per head
/// softmax(Q·Kᵀ/√d_head + M)·V, where M is −∞ at padded memory positions and, for causal attention,
/// above the diagonal, so that position t attends to positions ≤ t only. Self-attention passes
/// memory = x (the language model's blocks, causal; the encoder's, not causal); the decoder's
/// cross-attention passes the encoder output. The four projections are separate
/// <see cref="TorchSharp.Modules.Linear"/> layers (query, key, value, output), so that pruning sees each of them.
/// </summary>
public sealed class MultiHeadAttention : Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear output;
    private readonly int heads;
    private readonly bool causal;

    /// <summary>Creates the layer for a residual stream of width <paramref name="modelDim"/>.</summary>
    public MultiHeadAttention(int modelDim, int heads, bool causal) : base(causal ? "causal_self_attention" : "multi_head_attention")
    {
        this.heads = heads;
        this.causal = causal;
        query = Linear(modelDim, modelDim);
        key = Linear(modelDim, modelDim);
        value = Linear(modelDim, modelDim);
        output = Linear(modelDim, modelDim);
        RegisterComponents();
    }

    /// <summary>
    /// Maps x (batch, Tq, d_model) attending over <paramref name="memory"/> (batch, Tk, d_model) to
    /// (batch, Tq, d_model); <paramref name="memoryPadding"/> (batch, Tk) is true at padding, or null for none.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor memory, Tensor? memoryPadding)
    {
        using var scope = NewDisposeScope();
        var (batch, queries, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var keys = memory.shape[1];
        var headDim = width / heads;
        Tensor Heads(Tensor t) => t.view(batch, t.shape[1], heads, headDim).transpose(1, 2);
        var scores = Heads(query.forward(x)).matmul(Heads(key.forward(memory)).transpose(-2, -1)).div_(HeldScalar.Of(Math.Sqrt(headDim)));
        if (causal) scores.masked_fill_(ones(queries, keys, dtype: ScalarType.Bool, device: x.device).triu_(1), HeldScalar.Of(float.NegativeInfinity));
        if (memoryPadding is not null) scores.masked_fill_(memoryPadding.view(batch, 1, 1, keys), HeldScalar.Of(float.NegativeInfinity));
        var mixed = functional.softmax(scores, -1).matmul(Heads(value.forward(memory))).transpose(1, 2).reshape(batch, queries, width);
        return output.forward(mixed).MoveToOuterDisposeScope();
    }
}
