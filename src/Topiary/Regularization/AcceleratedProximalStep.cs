using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The momentum extrapolation of FISTA, Beck and Teboulle, "A Fast Iterative Shrinkage-Thresholding Algorithm for
/// Linear Inverse Problems" (SIAM J. Imaging Sciences 2009, eq. 4.1–4.3), around a proximal step:
/// x_k = prox(y_k − η∇f(y_k)), t_{k+1} = (1 + √(1 + 4t_k²))/2, y_{k+1} = x_k + ((t_k − 1)/t_{k+1})·(x_k − x_{k−1}),
/// with t_1 = 1 (so the first step does not extrapolate). The weights hold y, where the next gradient is taken.
/// Seed paper #63 accelerates SCAD/MCP proximal gradient with a Nesterov-type scheme; FISTA is the classic convex
/// form, used here as an option, without a convergence guarantee for these nonconvex penalties or under Adam.
/// The previous iterate and t of each tensor are kept in checkpoints.
/// </summary>
internal sealed class AcceleratedProximalStep
{
    private readonly PerParameterTensors previous = new("/previous", p => p.shape);
    private readonly PerParameterTensors momentum = new("/t", _ => []);

    /// <summary>Turns <paramref name="weight"/>, which holds x_k (the prox result), into y_{k+1} in place.</summary>
    public void Extrapolate(Tensor weight)
    {
        using var _ = no_grad();
        var x = weight.detach().clone();
        if (previous.TryGet(weight, out var last) && momentum.TryGet(weight, out var tTensor))
        {
            double t = tTensor.item<float>();
            var next = Next(t);
            weight.add_(x.sub(last), alpha: HeldScalar.Of((t - 1) / next));
            momentum.Set(weight, tensor(next, dtype: float32, device: weight.device));
        }
        else
        {
            momentum.Set(weight, tensor(Next(1), dtype: float32, device: weight.device));
        }
        previous.Set(weight, x);
    }

    // t is kept in float32 because checkpoints store float32: a resumed run then uses exactly the same t.
    private static float Next(double t) => (float)((1 + Math.Sqrt(1 + 4 * t * t)) / 2);

    public void SaveInto(Dictionary<string, Tensor> state, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        previous.SaveInto(state, parameters);
        momentum.SaveInto(state, parameters);
    }

    public void Load(IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        PerParameterTensors.Load(state, parameters, previous, momentum);
}
