using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// One tensor of regularizer state per parameter (a power-iteration vector, an initial distribution, a previous
/// iterate), kept by the parameter's handle while training and by its name in checkpoints, so that a resumed run
/// continues from the same state. The store owns its tensors.
/// </summary>
/// <param name="suffix">Appended to the parameter name in checkpoint keys, to tell several stores of one regularizer apart.</param>
/// <param name="expectedShape">The shape the state of a parameter must have, checked on load.</param>
internal sealed class PerParameterTensors(string suffix, Func<Tensor, long[]> expectedShape)
{
    private readonly Dictionary<IntPtr, Tensor> values = new();

    public bool TryGet(Tensor parameter, out Tensor value) => values.TryGetValue(parameter.Handle, out value!);

    /// <summary>Keeps <paramref name="value"/> (taken out of any dispose scope) as the state of <paramref name="parameter"/>.</summary>
    public void Set(Tensor parameter, Tensor value)
    {
        if (values.Remove(parameter.Handle, out var old) && !ReferenceEquals(old, value)) old.Dispose();
        values[parameter.Handle] = value.DetachFromDisposeScope();
    }

    /// <summary>Copies of the state, keyed by parameter name + suffix.</summary>
    public Dictionary<string, Tensor> Save(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        SaveInto(state, parameters);
        return state;
    }

    /// <summary>Adds copies of the state to <paramref name="state"/>, keyed by parameter name + suffix.</summary>
    public void SaveInto(Dictionary<string, Tensor> state, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        foreach (var (name, parameter) in parameters)
            if (values.TryGetValue(parameter.Handle, out var value)) state[name + suffix] = value.detach().clone();
    }

    /// <summary>Replaces the whole store with copies from <paramref name="state"/>; returns how many keys it used.</summary>
    /// <exception cref="ArgumentException">A saved tensor has the wrong shape.</exception>
    public int LoadFrom(IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        foreach (var value in values.Values) value.Dispose();
        values.Clear();
        var used = 0;
        foreach (var (name, parameter) in parameters)
        {
            if (!state.TryGetValue(name + suffix, out var saved)) continue;
            var shape = expectedShape(parameter);
            if (!saved.shape.SequenceEqual(shape))
                throw new ArgumentException($"regularizer state '{name + suffix}' has shape [{string.Join(",", saved.shape)}], expected [{string.Join(",", shape)}]");
            values[parameter.Handle] = saved.detach().clone().DetachFromDisposeScope();
            used++;
        }
        return used;
    }

    /// <summary>Loads several stores of one regularizer and rejects keys none of them knows.</summary>
    /// <exception cref="ArgumentException">An unknown key or a wrong shape.</exception>
    public static void Load(IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<(string Name, Tensor Parameter)> parameters, params PerParameterTensors[] stores)
    {
        EnsureAllUsed(state, stores.Sum(s => s.LoadFrom(state, parameters)));
    }

    /// <summary>Rejects a checkpoint whose state has keys that a loader did not use (<paramref name="used"/> of them were).</summary>
    /// <exception cref="ArgumentException">Some keys were not used.</exception>
    public static void EnsureAllUsed(IReadOnlyDictionary<string, Tensor> state, int used)
    {
        if (used != state.Count)
            throw new ArgumentException($"the checkpoint holds regularizer state for parameters this run does not have: {string.Join(", ", state.Keys.Take(3))}");
    }
}
