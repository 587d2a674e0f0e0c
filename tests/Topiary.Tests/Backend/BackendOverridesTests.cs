using Topiary.Backend;

namespace Topiary.Tests.Backend;

public class BackendOverridesTests
{
    private static BackendOverrides Read(params (string Name, string Value)[] variables) =>
        BackendOverrides.Read(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void Unset_variables_mean_the_machine_as_it_is()
    {
        var overrides = Read(("HOME_IS_IGNORED", "x"));
        Assert.False(overrides.ForceOneDnnOff);
        Assert.Equal(KernelInstructionSet.Avx512, overrides.SimdCeiling);
        Assert.True(overrides.CacheEnabled);
        Assert.Equal("TOPIARY_ONEDNN=auto TOPIARY_SIMD=auto", overrides.Describe());
    }

    [Theory]
    [InlineData("off", true)]
    [InlineData("OFF", true)]
    [InlineData(" auto ", false)]
    [InlineData("", false)]
    public void TOPIARY_ONEDNN_forces_the_failure_or_leaves_it_to_the_check(string value, bool forced) =>
        Assert.Equal(forced, Read(("TOPIARY_ONEDNN", value)).ForceOneDnnOff);

    [Theory]
    [InlineData("TOPIARY_ONEDNN", "maybe", "auto, off")]
    [InlineData("TOPIARY_SIMD", "sse", "auto, avx512, avx2, portable")]
    [InlineData("TOPIARY_CHECK_CACHE", "later", "on, off")]
    public void An_unknown_value_is_an_error_naming_the_variable_value_and_choices(string variable, string value, string choices)
    {
        var error = Assert.Throws<BackendConfigurationException>(() => Read((variable, value)));
        Assert.Equal(variable, error.Variable);
        Assert.Equal($"environment variable {variable}='{value}' is not one of: {choices}", error.Message);
    }

    [Fact]
    public void TOPIARY_SIMD_is_a_ceiling_that_the_CPU_caps_too()
    {
        Assert.Equal(KernelInstructionSet.Portable, Read(("TOPIARY_SIMD", "portable")).Kernels);
        var avx2 = Read(("TOPIARY_SIMD", "avx2")).Kernels;
        Assert.True(avx2 <= KernelInstructionSet.Avx2);
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported, avx2 == KernelInstructionSet.Avx2);
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, Read().Kernels == KernelInstructionSet.Avx512);
        Assert.Contains("TOPIARY_SIMD=avx2", Read(("TOPIARY_SIMD", "avx2")).Describe());
    }

    [Fact]
    public void The_cache_lives_in_TOPIARY_CACHE_DIR_else_under_XDG_CACHE_HOME()
    {
        Assert.Equal(Path.GetFullPath("/tmp/here"), Read(("TOPIARY_CACHE_DIR", "/tmp/here"), ("XDG_CACHE_HOME", "/x")).CacheDirectory);
        Assert.Equal("/x/topiary", Read(("XDG_CACHE_HOME", "/x")).CacheDirectory);
        Assert.False(Read(("TOPIARY_CHECK_CACHE", "off")).CacheEnabled);
    }
}
