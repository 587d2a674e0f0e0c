using System.Runtime.Intrinsics.X86;

namespace Topiary.Tests.Support;

/// <summary>What ONNX Runtime's int8 kernels do on this CPU, for tests that compare them with exact arithmetic.</summary>
internal static class OnnxRuntimeInt8
{
    /// <summary>
    /// True on x86 without VNNI (AVX-512 VNNI or AVX-VNNI): ONNX Runtime's u8s8 kernels then use VPMADDUBSW, whose int16
    /// pair sums saturate (its documented limitation); with VNNI, and off x86, they accumulate in int32 exactly. .NET has
    /// no Avx512Vnni class, so AVX-512 VNNI is read from the flags Linux lists (the suite runs on Linux).
    /// </summary>
    public static bool MaySaturate { get; } = X86Base.IsSupported && !AvxVnni.IsSupported
        && !(File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Split(' ', '\t', '\n').Contains("avx512_vnni"));
}
