using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The training objective of one batch as a closure, for regularizers that need more than one
/// forward/backward pass (SAM, AMP, F-GR). <see cref="Backward"/> zeros the gradients, evaluates the
/// data loss plus every loss penalty at the current weights, back-propagates, and returns the data loss.
/// </summary>
public sealed class ObjectiveClosure
{
    private readonly Func<(Tensor DataLoss, Tensor Objective)> evaluate;
    private readonly Action zeroGradients;
    private readonly Action maskGradients;
    private readonly Func<Tensor, Tensor?> maskOf;

    /// <summary>Wraps an objective over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">Every trainable parameter: the ones a perturbation moves.</param>
    /// <param name="evaluate">Forward pass: the data loss and the objective to differentiate.</param>
    /// <param name="zeroGradients">Clears the gradients.</param>
    /// <param name="maskGradients">Zeros the gradients of pruned entries (so that a perturbation never revives them).</param>
    /// <param name="maskOf">The live 0/1 mask of a parameter, or null when it is not pruned (<see cref="Pruning.PruningMasks.MaskOf"/>); null: nothing is pruned.</param>
    public ObjectiveClosure(IReadOnlyList<Parameter> parameters, Func<(Tensor DataLoss, Tensor Objective)> evaluate,
        Action zeroGradients, Action? maskGradients = null, Func<Tensor, Tensor?>? maskOf = null)
    {
        this.maskOf = maskOf ?? (_ => null);
        Parameters = parameters;
        this.evaluate = evaluate;
        this.zeroGradients = zeroGradients;
        this.maskGradients = maskGradients ?? (() => { });
    }

    /// <summary>The trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of forward/backward passes run so far (for tests and cost accounting).</summary>
    public int Passes { get; private set; }

    /// <summary>One forward and backward pass at the current weights; returns the detached data loss.</summary>
    public Tensor Backward()
    {
        zeroGradients();
        var (dataLoss, objective) = evaluate();
        objective.backward();
        Passes++;
        return dataLoss.detach();
    }

    /// <summary>Zeros the gradients of pruned entries.</summary>
    public void MaskGradients() => maskGradients();

    /// <summary>The live 0/1 mask of <paramref name="parameter"/> (1 = kept), or null when none of its entries is under pruning.</summary>
    public Tensor? MaskOf(Tensor parameter) => maskOf(parameter);

    /// <summary>Creates a closure for a plain loss function of the parameters, e.g. in tests.</summary>
    public static ObjectiveClosure Of(IReadOnlyList<Parameter> parameters, Func<Tensor> loss) =>
        new(parameters, () => { var l = loss(); return (l, l); }, () => { foreach (var p in parameters) p.grad?.zero_(); });
}
