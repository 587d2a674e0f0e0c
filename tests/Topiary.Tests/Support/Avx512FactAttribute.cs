namespace Topiary.Tests.Support;

/// <summary>A fact that needs AVX-512 (the lane-block kernel); skipped, and says so, on CPUs without it.</summary>
internal sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute()
    {
        if (!Topiary.Inference.LaneBlockKernel.IsSupported) Skip = "this CPU has no AVX-512, so the lane-block kernel never runs here";
    }
}
