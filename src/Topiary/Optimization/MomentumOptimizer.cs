using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// An optimizer whose whole state is one buffer per parameter (a momentum or averaged gradient, created at the
/// parameter's first step), masked, saved and restored as <c>{index}.momentum_buffer</c>.
/// </summary>
public abstract class MomentumOptimizer : MaskableOptimizer
{
    /// <summary>Creates the optimizer over <paramref name="parameters"/>, with no buffers yet.</summary>
    protected MomentumOptimizer(IEnumerable<Parameter> parameters, double learningRate) : base(parameters, learningRate) =>
        Buffers = new Tensor?[Parameters.Count];

    /// <summary>The buffer of each parameter, null before its first step (or, for SGD, without momentum).</summary>
    protected Tensor?[] Buffers { get; }

    /// <summary>The buffer of parameter <paramref name="index"/>, created as zeros like <paramref name="gradient"/> at its first step.</summary>
    protected Tensor ZeroStartedBuffer(int index, Tensor gradient) =>
        // The buffer outlives the caller's dispose scope.
        Buffers[index] ??= zeros_like(gradient).DetachFromDisposeScope();

    /// <summary>The optimizer's name in messages about its state.</summary>
    protected abstract string StateName { get; }

    /// <inheritdoc />
    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        Buffers[IndexOf(parameter)]?.mul_(mask);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var state = new Dictionary<string, Tensor>();
        for (var i = 0; i < Buffers.Length; i++)
            if (Buffers[i] is { } b) state[$"{i}.momentum_buffer"] = b;
        return state;
    }

    /// <summary>
    /// Replaces the buffers with copies of the saved ones; a missing buffer means the saved optimizer had not stepped
    /// that parameter yet (or had no momentum).
    /// </summary>
    protected override void LoadStateBuffers(IReadOnlyDictionary<string, Tensor> saved)
    {
        var names = Enumerable.Range(0, Parameters.Count).Select(i => $"{i}.momentum_buffer").ToList();
        if (saved.Keys.FirstOrDefault(k => !names.Contains(k)) is { } unknown)
            throw new ArgumentException($"unknown optimizer state '{unknown}' for {StateName}");
        for (var i = 0; i < Parameters.Count; i++)
        {
            saved.TryGetValue(names[i], out var source);
            if (source is not null) RequireShape(names[i], source, i);
            Buffers[i]?.Dispose();
            Buffers[i] = source?.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var b in Buffers) b?.Dispose();
    }
}
