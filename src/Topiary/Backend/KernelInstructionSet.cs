namespace Topiary.Backend;

/// <summary>The widest x86 instructions Topiary's own CPU kernels (sparse inference) may use.</summary>
public enum KernelInstructionSet
{
    /// <summary>No x86-specific intrinsics: portable <c>Vector256</c> code, the path of ARM and of x86 CPUs without AVX2 and FMA.</summary>
    Portable,
    /// <summary>AVX2 gathers and FMA.</summary>
    Avx2,
    /// <summary>AVX-512 as well (the one-sample lane-block kernel).</summary>
    Avx512,
}
