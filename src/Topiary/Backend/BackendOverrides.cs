using System.Runtime.Intrinsics.X86;

namespace Topiary.Backend;

/// <summary>
/// The environment variables that change what the backend does, read once per process:
/// <list type="bullet">
/// <item><c>TOPIARY_ONEDNN</c>: <c>auto</c> (default: oneDNN stays on unless the self-check finds its convolutions
/// wrong) or <c>off</c> (simulates a failed check: the fallback and its messages run exactly as on a CPU where
/// oneDNN is wrong).</item>
/// <item><c>TOPIARY_SIMD</c>: <c>auto</c> (default: the widest the CPU has), <c>avx512</c>, <c>avx2</c> or
/// <c>portable</c>: the widest instructions Topiary's kernels may use (a ceiling; the CPU's own limit still applies).</item>
/// <item><c>TOPIARY_CHECK_CACHE</c>: <c>on</c> (default) or <c>off</c> (always run the self-check).</item>
/// <item><c>TOPIARY_CACHE_DIR</c>: where the self-check's verdicts are kept (default <c>$XDG_CACHE_HOME/topiary</c>,
/// else <c>~/.cache/topiary</c>).</item>
/// </list>
/// </summary>
public sealed record BackendOverrides(bool ForceOneDnnOff, KernelInstructionSet SimdCeiling, bool CacheEnabled, string? CacheDirectory)
{
    /// <summary>Variable that forces oneDNN off.</summary>
    public const string OneDnnVariable = "TOPIARY_ONEDNN";
    /// <summary>Variable that caps the kernels' instruction set.</summary>
    public const string SimdVariable = "TOPIARY_SIMD";
    /// <summary>Variable that turns the verdict cache off.</summary>
    public const string CacheVariable = "TOPIARY_CHECK_CACHE";
    /// <summary>Variable that moves the verdict cache.</summary>
    public const string CacheDirectoryVariable = "TOPIARY_CACHE_DIR";

    private static readonly Lazy<BackendOverrides> FromProcess = new(() => Read(Environment.GetEnvironmentVariable));

    /// <summary>The overrides of this process's environment (read on first use).</summary>
    /// <exception cref="BackendConfigurationException">A variable has an unknown value.</exception>
    public static BackendOverrides Current => FromProcess.Value;

    /// <summary>
    /// The instruction set the kernels use: the widest of AVX-512, AVX2 + FMA or portable that both the CPU and
    /// <see cref="SimdCeiling"/> allow.
    /// </summary>
    public KernelInstructionSet Kernels =>
        SimdCeiling >= KernelInstructionSet.Avx512 && Avx512F.IsSupported && Avx2.IsSupported && Fma.IsSupported ? KernelInstructionSet.Avx512
        : SimdCeiling >= KernelInstructionSet.Avx2 && Avx2.IsSupported && Fma.IsSupported ? KernelInstructionSet.Avx2
        : KernelInstructionSet.Portable;

    /// <summary>The settings as <c>NAME=value</c> pairs, for cache keys and reports.</summary>
    public string Describe() =>
        $"{OneDnnVariable}={(ForceOneDnnOff ? "off" : "auto")} {SimdVariable}={SimdName(SimdCeiling)}";

    /// <summary>Parses the variables through <paramref name="lookup"/> (null or empty means the default).</summary>
    /// <exception cref="BackendConfigurationException">A variable has an unknown value.</exception>
    public static BackendOverrides Read(Func<string, string?> lookup)
    {
        var oneDnn = Value(lookup, OneDnnVariable);
        var forceOff = oneDnn switch
        {
            null or "auto" => false,
            "off" => true,
            _ => throw Unknown(OneDnnVariable, oneDnn, "auto, off"),
        };
        var simd = Value(lookup, SimdVariable);
        var ceiling = simd switch
        {
            null or "auto" or "avx512" => KernelInstructionSet.Avx512,
            "avx2" => KernelInstructionSet.Avx2,
            "portable" => KernelInstructionSet.Portable,
            _ => throw Unknown(SimdVariable, simd, "auto, avx512, avx2, portable"),
        };
        var cache = Value(lookup, CacheVariable);
        var cacheEnabled = cache switch
        {
            null or "on" => true,
            "off" => false,
            _ => throw Unknown(CacheVariable, cache, "on, off"),
        };
        return new BackendOverrides(forceOff, ceiling, cacheEnabled, DefaultCacheDirectory(lookup));
    }

    private static string? Value(Func<string, string?> lookup, string name)
    {
        var value = lookup(name)?.Trim();
        return string.IsNullOrEmpty(value) ? null : value.ToLowerInvariant();
    }

    private static BackendConfigurationException Unknown(string variable, string value, string expected) =>
        new(variable, $"environment variable {variable}='{value}' is not one of: {expected}");

    private static string SimdName(KernelInstructionSet set) => set switch
    {
        KernelInstructionSet.Avx512 => "auto",
        KernelInstructionSet.Avx2 => "avx2",
        _ => "portable",
    };

    private static string? DefaultCacheDirectory(Func<string, string?> lookup)
    {
        var explicitDirectory = lookup(CacheDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(explicitDirectory)) return Path.GetFullPath(explicitDirectory);
        var xdg = lookup("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "topiary");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return string.IsNullOrEmpty(local) ? null : Path.Combine(local, "topiary");
        }
        return OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "topiary")
            : Path.Combine(home, ".cache", "topiary");
    }
}
