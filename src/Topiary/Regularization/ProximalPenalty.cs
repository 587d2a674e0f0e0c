using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// A penalty applied as its proximal operator after each optimizer step (SCAD, MCP), optionally accelerated by
/// FISTA's momentum extrapolation (<see cref="AcceleratedProximalStep"/>).
/// </summary>
public abstract class ProximalPenalty : GradientRegularizer
{
    private readonly AcceleratedProximalStep? acceleration;

    /// <summary>Creates the penalty; <paramref name="accelerated"/> extrapolates after every prox, as FISTA does.</summary>
    protected ProximalPenalty(bool accelerated) => acceleration = accelerated ? new AcceleratedProximalStep() : null;

    /// <summary>Whether the proximal steps are accelerated.</summary>
    public bool Accelerated => acceleration is not null;

    /// <summary>argmin_x ½(x − z)² + η·p(x) elementwise, for z = <paramref name="weight"/>, written back in place.</summary>
    public abstract void Prox(Tensor weight, double strength, double stepSize);

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0) return;
        Prox(weight, strength, stepSize);
        acceleration?.Extrapolate(weight);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        acceleration?.SaveInto(state, parameters);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (acceleration is null) base.LoadState(parameters, state);
        else acceleration.Load(state, parameters);
    }
}
