using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// Multi-head causal self-attention (Vaswani et al. 2017): softmax(Q·Kᵀ/√d_head + M)·V per head, where
/// M is −∞ above the diagonal, so position t attends to positions ≤ t only. The four projections are
/// separate <see cref="TorchSharp.Modules.Linear"/> layers (query, key, value, output), so that pruning sees each of them.
/// </summary>
public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear output;
    private readonly int heads;

    /// <summary>Creates the layer for a residual stream of width <paramref name="modelDim"/>.</summary>
    public CausalSelfAttention(int modelDim, int heads) : base("causal_self_attention")
    {
        this.heads = heads;
        query = Linear(modelDim, modelDim);
        key = Linear(modelDim, modelDim);
        value = Linear(modelDim, modelDim);
        output = Linear(modelDim, modelDim);
        RegisterComponents();
    }

    /// <summary>Maps (batch, time, d_model) to the same shape.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, time, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var headDim = width / heads;
        Tensor Heads(Linear projection) => projection.forward(x).view(batch, time, heads, headDim).transpose(1, 2);
        var q = Heads(query);
        var k = Heads(key);
        var v = Heads(value);
        var scores = q.matmul(k.transpose(-2, -1)).div_(Math.Sqrt(headDim));
        using (var future = ones(time, time, dtype: ScalarType.Bool, device: x.device).triu_(1))
            scores.masked_fill_(future, float.NegativeInfinity);
        var mixed = functional.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(batch, time, width);
        return output.forward(mixed).MoveToOuterDisposeScope();
    }
}
