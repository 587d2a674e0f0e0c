using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The relevance gate of Bonetta et al. (arXiv 2204.04977), exp(−|∂L/∂w|/α), measured for a model on one batch: the
/// statistics a relevance run records at each evaluation (<see cref="Training.PruningSession.GateStatistics"/>), for a
/// saved model. Shows whether a given α would select anything: with a mean-reduced loss and α = 1 the gate stays near 1.
/// </summary>
public static class GateProbe
{
    /// <summary>
    /// One forward and backward pass of <paramref name="loss"/> on the batch, then, per tensor of
    /// <paramref name="parameters"/>, α and the quantiles of |g| and of the gate over its unpruned entries. With
    /// <see cref="RelevanceGate.AlphaQuantile"/> set, α is that quantile of this batch's |g| (one batch: nothing to average).
    /// The parameters' gradients are cleared afterwards; the weights are not changed (a saved model's pruned weights are zeros already).
    /// </summary>
    /// <param name="model">The model, in the mode to measure it in (usually <c>eval()</c>).</param>
    /// <param name="inputs">The batch.</param>
    /// <param name="targets">Its targets.</param>
    /// <param name="loss">The data loss of (output, target), mean-reduced as in training.</param>
    /// <param name="parameters">The tensors to measure, by name (the prunable ones).</param>
    /// <param name="gate">The gate's α (fixed or a quantile); the signal is this batch's |g|.</param>
    /// <param name="masks">Masks by parameter name (1 = kept); entries masked 0 are left out. Null: every entry counts.</param>
    /// <param name="levels">Quantile levels (default <see cref="GateQuantiles.Levels"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting of <paramref name="gate"/> is out of range.</exception>
    public static IReadOnlyList<LayerGate> Measure(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, Func<Tensor, Tensor, Tensor> loss,
        IReadOnlyList<(string Name, Parameter Parameter)> parameters, RelevanceGate gate, IReadOnlyDictionary<string, Tensor>? masks = null,
        IReadOnlyList<double>? levels = null)
    {
        var byParameter = parameters.Where(p => masks?.ContainsKey(p.Name) == true).ToDictionary(p => p.Parameter.Handle, p => masks![p.Name]);
        var regularizer = new RelevanceWeightDecay(gate with { Signal = RelevanceSignal.Minibatch, AlphaSmoothing = 0 },
            parameter => byParameter.GetValueOrDefault(parameter.Handle));
        using var scope = NewDisposeScope();
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        try
        {
            foreach (var p in trainable) p.grad?.zero_();
            loss(model.forward(inputs), targets).backward();
            using (no_grad())
                foreach (var (_, parameter) in parameters)
                    if (parameter.grad is { } g) regularizer.AddGradient(parameter, g.clone(), 0);
            return regularizer.GateStatistics(parameters.Select(p => (p.Name, (Tensor)p.Parameter)), levels ?? GateQuantiles.Levels);
        }
        finally
        {
            foreach (var p in trainable) p.grad?.zero_();
        }
    }
}
