using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// Users' own <c>nn.Sequential</c> models as a user would write them: BatchNorm whose running statistics have been
/// moved by training-mode forwards (so they are not the defaults 0 and 1) and whose affine parameters are not 1 and 0,
/// Dropout, strided and padded convolutions, a rectangular kernel, padded max- and average pooling; randomly
/// initialised and magnitude-pruned. Returned in eval mode.
/// </summary>
internal static class UserModels
{
    /// <summary>
    /// On 1×28×28: conv 3×3 s1 p1 → BN → ReLU → max-pool 3 s2 p1 → conv 3×3 s2 p1 → BN → ReLU → conv 2×3 → ReLU →
    /// avg-pool 2 s1 p1 → Flatten → Linear 504→32 → ReLU → Dropout → Linear 32→10.
    /// </summary>
    public static Sequential Cnn(double sparsity, int seed = 7)
    {
        manual_seed(seed);
        var model = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride: 1, padding: 1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(3, stride: 2, padding: 1),
            nn.Conv2d(8, 16, 3, stride: 2, padding: 1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 12, (2, 3)),
            nn.ReLU(),
            nn.AvgPool2d(2, stride: 1, padding: 1),
            nn.Flatten(),
            nn.Linear(504, 32),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(32, 10));
        Prepare(model, sparsity, new long[] { 16, 1, 28, 28 }, seed);
        return model;
    }

    /// <summary>Names of the Cnn's weighted layers, in order.</summary>
    public static readonly string[] CnnWeightedLayers = { "0", "4", "7", "11", "14" };

    /// <summary>
    /// Randomizes the BatchNorm affine parameters, prunes every weight matrix and kernel by global magnitude, runs
    /// three training-mode forwards on shifted, scaled inputs of <paramref name="batchShape"/> so that the running
    /// statistics move, and leaves the model in eval mode.
    /// </summary>
    public static void Prepare(Sequential model, double sparsity, long[] batchShape, int seed)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var norm in model.modules().OfType<NormBase>())
        {
            norm.weight?.uniform_(0.5, 1.5, generator: generator);
            norm.bias?.uniform_(-0.5, 0.5, generator: generator);
        }
        var weights = model.named_parameters().Where(p => p.name.EndsWith(".weight") && p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        if (sparsity > 0)
        {
            var magnitudes = cat(weights.Select(w => w.detach().abs().flatten()).ToArray());
            var threshold = magnitudes.kthvalue((long)Math.Round(sparsity * magnitudes.numel()), dim: 0).values;
            foreach (var w in weights) w.mul_(w.abs().gt(threshold).to(w.dtype));
        }
        model.train();
        for (var i = 0; i < 3; i++) model.forward(randn(batchShape, generator: generator).mul(2).add(0.5));
        model.eval();
    }

    public static Tensor Images(int batch, int seed = 5) => randn(new long[] { batch, 1, 28, 28 }, generator: new Generator((ulong)seed));
}
