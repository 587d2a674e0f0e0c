using System.Buffers.Binary;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// libtorch's CPU random generator state (what <c>torch.get_rng_state</c> returns), so that dropout draws the same
/// masks after a resume as in an uninterrupted run. A state read from a file is checked before libtorch sees it:
/// libtorch's mt19937 trusts the indices in the state, and a forged one made libc10 read out of bounds and crash
/// (the checkpoint fuzz test found it). The state is CPUGeneratorImplState: the legacy layout starts with the
/// 64-bit initial seed, then <c>left</c> (int32), <c>seeded</c> (int32), then <c>next</c> (uint64). mt19937 reads word
/// <c>next</c> and counts <c>left</c> down to its next refill, so a state is safe when left ≥ 1, next &lt; 624 and
/// left + next ≤ 625 (observed: left + next = 625 between refills, left 1 and next 0 right after seeding).
/// </summary>
internal static class RandomGeneratorState
{
    private const int StateWords = 624;
    private const int LeftOffset = 8;
    private const int NextOffset = 16;

    /// <summary>A copy of the current state.</summary>
    public static Tensor Save()
    {
        using var state = get_rng_state();
        return state.clone().DetachFromDisposeScope();
    }

    /// <summary>Sets the generator to <paramref name="state"/> after checking it.</summary>
    /// <exception cref="ArgumentException">The state does not have this libtorch's size and layout, or its indices are out of range.</exception>
    public static void Load(Tensor state)
    {
        using var current = get_rng_state();
        if (state.dim() != 1 || state.numel() != current.numel())
            throw new ArgumentException($"the random generator state has {state.numel()} values, this libtorch's has {current.numel()} bytes");
        // Version-1 checkpoint files stored every tensor as float32, which holds bytes exactly.
        using var asBytes = state.to(ScalarType.Byte);
        var bytes = asBytes.data<byte>().ToArray();
        var left = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(LeftOffset));
        var next = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(NextOffset));
        if (left < 1 || next >= StateWords || (ulong)left + next > StateWords + 1)
            throw new ArgumentException($"the random generator state is damaged (index left {left}, next {next}; both must lie within the {StateWords}-word state)");
        set_rng_state(asBytes);
    }
}
