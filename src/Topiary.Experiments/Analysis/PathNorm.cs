using Topiary.Backend;
using Topiary.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>
/// L^q path-norms of Gonon, Brisebarre, Riccietti, Gribonval, "A path-norm toolkit for modern networks:
/// consequences, promises and challenges" (ICLR 2024, seed paper #16): ‖Φ(θ)‖_q, where Φ lists, for every path
/// from an input or a bias to an output, the product of the weights along it. It is computed in one forward
/// pass, ‖Φ(θ)‖_q^q = Σ outputs of the network with every weight and bias replaced by |·|^q, an all-ones
/// input, ReLU replaced by the identity and max-pooling by sum-pooling (a max-pool neuron's incoming edges carry
/// no weight, so every one of its antecedents' paths counts). It is invariant under neuron rescaling and
/// cannot grow when weights are pruned. Supports the catalogue's LeNet-300-100 and LeNet-5 and any
/// <c>Sequential</c> of Linear, ReLU, Flatten and Identity.
/// </summary>
public static class PathNorm
{
    /// <summary>‖Φ(θ)‖_q for q ≥ 1 (q = 1 and 2 are the usual choices).</summary>
    /// <exception cref="NotSupportedException">An architecture this computation does not know.</exception>
    public static double Compute(nn.Module<Tensor, Tensor> model, double q = 1, int imageSize = 28)
    {
        TorchBackend.EnsureVerified();
        if (!(q >= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "q must be ≥ 1");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var modules = model.named_children().Select(c => c.module).ToList();
        Tensor output = model switch
        {
            LeNet300 => Chain(modules.Cast<Linear>(), q, ones(1, modules.OfType<Linear>().First().weight!.shape[1], dtype: float64)),
            LeNet5 => LeNet5Forward(modules, q, imageSize),
            Sequential => SequentialForward(modules, q),
            _ => throw new NotSupportedException($"path-norm: unknown architecture {model.GetType().Name}"),
        };
        return Math.Pow(output.sum().item<double>(), 1 / q);
    }

    // Computed on the CPU in float64, wherever the model lives: a diagnostic, not a training step.
    private static Tensor Power(Tensor? t, double q) => t is null ? zeros(1, dtype: float64) : t.detach().cpu().to(float64).abs().pow(HeldScalar.Of(q));

    private static Tensor Linear(Linear layer, Tensor x, double q) =>
        nn.functional.linear(x, Power(layer.weight, q), layer.bias is null ? null : Power(layer.bias, q));

    private static Tensor Chain(IEnumerable<Linear> layers, double q, Tensor x)
    {
        foreach (var layer in layers) x = Linear(layer, x, q);
        return x;
    }

    private static Tensor LeNet5Forward(IReadOnlyList<nn.Module> modules, double q, int imageSize)
    {
        var convs = modules.OfType<Conv2d>().ToList();
        var linears = modules.OfType<Linear>().ToList();
        var x = ones(1, 1, imageSize, imageSize, dtype: float64);
        foreach (var conv in convs)
        {
            x = nn.functional.conv2d(x, Power(conv.weight, q), conv.bias is null ? null : Power(conv.bias, q));
            x = nn.functional.avg_pool2d(x, 2).mul(HeldScalar.Of(4));   // max-pool 2×2 → sum-pool
        }
        return Chain(linears, q, x.flatten(1));
    }

    private static Tensor SequentialForward(IReadOnlyList<nn.Module> modules, double q)
    {
        var first = modules.OfType<Linear>().FirstOrDefault() ?? throw new NotSupportedException("path-norm: a Sequential without a Linear layer");
        var x = ones(1, first.weight!.shape[1], dtype: float64);
        foreach (var module in modules)
            x = module switch
            {
                Linear linear => Linear(linear, x, q),
                ReLU or Identity or Flatten => x,
                _ => throw new NotSupportedException($"path-norm: unsupported layer {module.GetType().Name}"),
            };
        return x;
    }
}
