using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Tests.Support;

/// <summary>
/// A 170-parameter classifier of 28×28 images (7×7 average pool, then one linear layer): small enough that a
/// checkpoint of it is a few kilobytes, which keeps the committed format fixtures small.
/// </summary>
internal sealed class TinyPoolNet : Module<Tensor, Tensor>
{
    private readonly Linear fc;

    public TinyPoolNet() : base("tinypool")
    {
        fc = Linear(16, 10);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.avg_pool2d(input.reshape(-1, 1, 28, 28), 7);
        return fc.call(x.flatten(1)).MoveToOuterDisposeScope();
    }
}
