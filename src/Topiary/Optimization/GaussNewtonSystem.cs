using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// The generalized Gauss–Newton model of the data loss L on a batch of b examples with K outputs each, in output space:
/// J (bK × P), the Jacobian of the outputs z with respect to the live parameters (pruned columns zero); H (bK × bK),
/// the block-diagonal ∂²L/∂z² (one K × K block per example); G = ∂L/∂z. The model of L(w + s) − L(w) is
/// Gᵀ(Js) + ½(Js)ᵀH(Js), its curvature JᵀHJ, and every solve is in the bK-dimensional output space.
/// Its tensors live in the caller's dispose scope.
/// </summary>
internal sealed class GaussNewtonSystem
{
    private readonly CurvatureBatch batch;
    private readonly Tensor inputs;
    private readonly Tensor targets;

    private GaussNewtonSystem(CurvatureBatch batch, Tensor inputs, Tensor targets, Tensor jacobian, Tensor hessian, Tensor gradient, double loss)
    {
        this.batch = batch;
        this.inputs = inputs;
        this.targets = targets;
        Jacobian = jacobian;
        OutputHessian = hessian;
        OutputGradient = gradient;
        Loss = loss;
    }

    /// <summary>J, bK × P.</summary>
    public Tensor Jacobian { get; }

    /// <summary>H = ∂²L/∂z², bK × bK, block diagonal.</summary>
    public Tensor OutputHessian { get; }

    /// <summary>G = ∂L/∂z, bK.</summary>
    public Tensor OutputGradient { get; }

    /// <summary>L at the weights the system was built at.</summary>
    public double Loss { get; }

    /// <summary>
    /// The system of the first <paramref name="examples"/> examples of <paramref name="batch"/> at the current weights:
    /// one forward pass and bK backward passes (a row of J each), plus K double-backward passes through the loss for H.
    /// </summary>
    public static GaussNewtonSystem Of(CurvatureBatch batch, IReadOnlyList<Parameter> parameters, int examples)
    {
        var b = Math.Min(examples, batch.Inputs.shape[0]);
        var inputs = batch.Inputs.narrow(0, 0, b);
        var targets = batch.Targets.narrow(0, 0, b);
        var masks = parameters.Select(p => batch.MaskOf(p)).ToList();
        var leaves = parameters.Cast<Tensor>().ToList();
        Tensor jacobian, outputs;
        using (enable_grad())
        {
            outputs = batch.Model.forward(inputs);
            var flat = outputs.reshape(b, -1);
            var k = flat.shape[1];
            var rows = new Tensor[b * k];
            for (var i = 0; i < b; i++)
                for (var c = 0; c < k; c++)
                {
                    // The per-tensor gradients go at once, so J is held once, not twice.
                    using var rowScope = NewDisposeScope();
                    rows[i * k + c] = Flatten(autograd.grad([flat[i, c]], leaves, retain_graph: true, allow_unused: true), parameters, masks)
                        .MoveToOuterDisposeScope();
                }
            jacobian = stack(rows);
        }
        var (gradient, hessian, loss) = OutputDerivatives(outputs.detach(), targets, batch.Loss, b);
        return new GaussNewtonSystem(batch, inputs, targets, jacobian, hessian, gradient, loss);
    }

    /// <summary>
    /// −(λI + JᵀHJ)⁻¹v for the gradient v (bK-space solves only, by the Duncan–Guttman identity): with u = v − JᵀG, the
    /// part of v this batch's data loss does not explain (a regularizer's gradient, other examples),
    /// −Jᵀ(λI + HJJᵀ)⁻¹G − λ⁻¹[u − Jᵀ(λI + HJJᵀ)⁻¹HJu]. For v = JᵀG the second term vanishes: the paper's step.
    /// </summary>
    public Tensor Direction(Tensor gradient, double lambda)
    {
        var j = Jacobian;
        var n = j.shape[0];
        var system = OutputHessian.to(float64).matmul(j.matmul(j.t()).to(float64))
            .add(eye(n, dtype: float64, device: j.device).mul(HeldScalar.Of(lambda)));
        var data = j.t().matmul(linalg.solve(system, OutputGradient.to(float64)).to(j.dtype));
        var rest = gradient.sub(j.t().matmul(OutputGradient));
        var projected = linalg.solve(system, OutputHessian.to(float64).matmul(j.matmul(rest).to(float64))).to(j.dtype);
        var restStep = rest.sub(j.t().matmul(projected)).div(HeldScalar.Of(lambda));
        return data.add(restStep).neg();
    }

    /// <summary>The directional derivative Gᵀ(Js) and the model's change Gᵀ(Js) + ½(Js)ᵀH(Js) along step <paramref name="step"/>.</summary>
    public (double Slope, double Predicted) Model(Tensor step)
    {
        var js = Jacobian.matmul(step).to(float64);
        var slope = OutputGradient.to(float64).dot(js).item<double>();
        var curvature = js.dot(OutputHessian.to(float64).matmul(js)).item<double>();
        return (slope, slope + curvature / 2);
    }

    /// <summary>L on the system's examples at the current weights (a forward pass without gradients).</summary>
    public double LossAtCurrentWeights()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return batch.Loss(batch.Model.forward(inputs), targets).to(float64).item<double>();
    }

    // One row of J: the gradients of one output, masked, in the parameters' order.
    private static Tensor Flatten(IList<Tensor> gradients, IReadOnlyList<Parameter> parameters, IReadOnlyList<Tensor?> masks) =>
        cat(Enumerable.Range(0, parameters.Count).Select(p =>
        {
            var g = gradients[p] is { IsInvalid: false } used ? used : zeros_like(parameters[p]);
            return (masks[p] is { } mask ? g.mul(mask) : g).reshape(-1);
        }).ToList());

    // G = ∂L/∂z and the blocks ∂²L/∂z_i∂z_i, one double-backward pass per output: L is a mean of per-example terms, so
    // there are no cross-example terms.
    private static (Tensor Gradient, Tensor Hessian, double Loss) OutputDerivatives(Tensor outputs, Tensor targets, Func<Tensor, Tensor, Tensor> lossFunction, long b)
    {
        var z = outputs.requires_grad_(true);
        using var _ = enable_grad();
        var loss = lossFunction(z, targets);
        var gradient = autograd.grad([loss], [z], retain_graph: true, create_graph: true)[0].reshape(b, -1);
        var k = gradient.shape[1];
        Tensor blocks;
        if (gradient.requires_grad)
        {
            var rows = Enumerable.Range(0, (int)k)
                .Select(c => autograd.grad([gradient[.., c].sum()], [z], retain_graph: true, allow_unused: true)[0] is { IsInvalid: false } row
                    ? row.reshape(b, k) : zeros(b, k, dtype: gradient.dtype, device: gradient.device))
                .ToArray();
            blocks = stack(rows, 1).detach();
        }
        else
        {
            // A loss linear in the outputs has no curvature.
            blocks = zeros(b, k, k, dtype: gradient.dtype, device: gradient.device);
        }
        return (gradient.detach().reshape(-1), block_diag(blocks.unbind(0)), loss.detach().to(float64).item<double>());
    }
}
