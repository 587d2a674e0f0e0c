using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>The position-wise feed-forward layer of a Transformer block: W₂·GELU(W₁·h + b₁) + b₂.</summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear expand;
    private readonly Linear contract;

    /// <summary>Creates the layer d_model → <paramref name="hiddenDim"/> → d_model.</summary>
    public FeedForward(int modelDim, int hiddenDim) : base("feed_forward")
    {
        expand = Linear(modelDim, hiddenDim);
        contract = Linear(hiddenDim, modelDim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor h)
    {
        using var scope = NewDisposeScope();
        return contract.forward(functional.gelu(expand.forward(h))).MoveToOuterDisposeScope();
    }
}
