using Topiary.Backend;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>
/// LeNet-5 in the Caffe variant used by Bonetta et al. (and by LOBSTER): conv 20@5×5 → max-pool 2 →
/// conv 50@5×5 → max-pool 2 → fc 800→500 → ReLU → fc 500→10. 431,080 parameters on 28×28 inputs.
/// The convolutions have no activation, as in Caffe's reference model.
/// </summary>
public sealed class LeNet5 : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly long imageSize;

    /// <summary>Creates the network for square single-channel images of <paramref name="imageSize"/> pixels.</summary>
    public LeNet5(int imageSize = 28, int classes = 10) : base("lenet5")
    {
        TorchBackend.EnsureVerified();
        var afterConvs = ((imageSize - 4) / 2 - 4) / 2;
        if (afterConvs < 1) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "LeNet-5 needs images of at least 16×16 pixels");
        this.imageSize = imageSize;
        conv1 = Conv2d(1, 20, 5);
        conv2 = Conv2d(20, 50, 5);
        fc1 = Linear(50 * afterConvs * afterConvs, 500);
        fc2 = Linear(500, classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    /// <remarks>Layers are invoked through <c>call</c>, not <c>forward</c>, so that forward hooks run (activation penalties, analysis).</remarks>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.reshape(-1, 1, imageSize, imageSize);
        x = functional.max_pool2d(conv1.call(x), 2);
        x = functional.max_pool2d(conv2.call(x), 2);
        x = functional.relu(fc1.call(x.flatten(1)));
        return fc2.call(x).MoveToOuterDisposeScope();
    }
}
