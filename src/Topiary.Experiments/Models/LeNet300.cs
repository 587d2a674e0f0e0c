using Topiary.Backend;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// LeNet-300-100 (LeCun et al. 1998), the fully connected benchmark of the pruning literature:
/// 784 → 300 → ReLU → 100 → ReLU → 10, 266,610 parameters on 28×28 inputs.
/// </summary>
public sealed class LeNet300 : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear fc3;
    private readonly long inputs;

    /// <summary>Creates the network for images of <paramref name="pixels"/> pixels.</summary>
    public LeNet300(int pixels = 28 * 28, int classes = 10) : base("lenet300")
    {
        TorchBackend.EnsureVerified();
        inputs = pixels;
        fc1 = Linear(pixels, 300);
        fc2 = Linear(300, 100);
        fc3 = Linear(100, classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    /// <remarks>Layers are invoked through <c>call</c>, not <c>forward</c>, so that forward hooks run (activation penalties, analysis).</remarks>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(fc1.call(input.reshape(-1, inputs)));
        x = functional.relu(fc2.call(x));
        return fc3.call(x).MoveToOuterDisposeScope();
    }
}
