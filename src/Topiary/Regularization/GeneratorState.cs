using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The state of a regularizer's own random generator in checkpoints (the ELBo's noise, mixout's masks), so that a resumed
/// run draws what the uninterrupted one would have drawn.
/// </summary>
internal static class GeneratorState
{
    /// <summary>The checkpoint key of the generator's state.</summary>
    public const string Key = "#generator";

    /// <summary>Adds a copy of <paramref name="generator"/>'s state to <paramref name="state"/>.</summary>
    public static void Save(Dictionary<string, Tensor> state, Generator generator) => state[Key] = generator.get_state().clone();

    /// <summary>A generator seeded with <paramref name="seed"/>, continued from the saved state when <paramref name="state"/> holds one (then counted in <paramref name="used"/>).</summary>
    public static Generator Restore(IReadOnlyDictionary<string, Tensor> state, ulong seed, ref int used)
    {
        var generator = new Generator(seed);
        if (!state.TryGetValue(Key, out var saved)) return generator;
        generator.set_state(saved.detach().clone());
        used++;
        return generator;
    }

    /// <summary>The whole state of a regularizer whose only state is <paramref name="generator"/>.</summary>
    public static IReadOnlyDictionary<string, Tensor> SaveOnly(Generator generator)
    {
        var state = new Dictionary<string, Tensor>();
        Save(state, generator);
        return state;
    }

    /// <summary>The generator of a regularizer whose only state it is, from <paramref name="state"/> (what <see cref="SaveOnly"/> returned).</summary>
    /// <exception cref="ArgumentException"><paramref name="state"/> holds other keys.</exception>
    public static Generator RestoreOnly(IReadOnlyDictionary<string, Tensor> state, ulong seed)
    {
        var used = 0;
        var generator = Restore(state, seed, ref used);
        PerParameterTensors.EnsureAllUsed(state, used);
        return generator;
    }

    /// <summary>Puts <paramref name="restored"/> in the place of <paramref name="generator"/> and disposes the one it replaces (a native handle).</summary>
    public static void Replace(ref Generator generator, Generator restored)
    {
        generator.Dispose();
        generator = restored;
    }
}
