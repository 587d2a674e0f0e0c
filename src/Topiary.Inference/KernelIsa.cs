using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Topiary.Backend;

namespace Topiary.Inference;

/// <summary>
/// The instruction set Topiary's sparse kernels use in this process: the widest the CPU has, capped by
/// <c>TOPIARY_SIMD</c> (<see cref="BackendOverrides"/>). Kernels read it once per call, so tests can run every path
/// the CPU supports in one process (<see cref="Force"/>).
/// </summary>
internal static class KernelIsa
{
    private static readonly KernelInstructionSet FromEnvironment = Read();
    private static KernelInstructionSet? forced;

    /// <summary>The set in use now.</summary>
    public static KernelInstructionSet Active => forced ?? FromEnvironment;

    /// <summary>AVX-512 (the lane-block kernel) may run.</summary>
    public static bool Avx512 => Active == KernelInstructionSet.Avx512;

    /// <summary>AVX2 gathers and FMA may run.</summary>
    public static bool Avx2Fma => Active >= KernelInstructionSet.Avx2;

    /// <summary>The sets this CPU can run, narrowest first (tests run each).</summary>
    public static IReadOnlyList<KernelInstructionSet> Supported { get; } = Enum.GetValues<KernelInstructionSet>()
        .Where(set => set <= Hardware()).ToList();

    /// <summary>
    /// Tests only: uses <paramref name="set"/> (capped by the CPU) until the result is disposed. Matrices remember
    /// their one-sample layout, so build them after forcing.
    /// </summary>
    public static IDisposable Force(KernelInstructionSet set)
    {
        var previous = forced;
        forced = set <= Hardware() ? set : Hardware();
        return new Restore(() => forced = previous);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    private static KernelInstructionSet Hardware() =>
        Avx512F.IsSupported && Avx2.IsSupported && Fma.IsSupported ? KernelInstructionSet.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? KernelInstructionSet.Avx2
        : KernelInstructionSet.Portable;

    private static KernelInstructionSet Read()
    {
        try
        {
            return BackendOverrides.Current.Kernels;
        }
        catch (BackendConfigurationException)
        {
            // The backend's own check reports the bad value; the kernels must still load.
            return Hardware();
        }
    }
}

/// <summary>a·b + c on 8 lanes, fused or not: kernels are generic over it so that each path compiles without branches.</summary>
internal interface IMultiplyAdd
{
    static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c);
}

/// <summary>One FMA instruction (AVX2 and AVX-512 paths): one rounding.</summary>
internal readonly struct FusedMultiplyAdd : IMultiplyAdd
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);
}

/// <summary>A product, then a sum (portable path): two roundings.</summary>
internal readonly struct SeparateMultiplyAdd : IMultiplyAdd
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => a * b + c;
}
