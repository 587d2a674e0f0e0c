using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Backend;
using Topiary.Models;
using Topiary.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Backend;

/// <summary>
/// The library checks the backend before its first convolution without being asked, and the checks' verdicts and
/// forced failures behave as on a CPU whose oneDNN is wrong. Each test starts as a new process would (oneDNN on,
/// nothing checked) and leaves the process verified again.
/// </summary>
public class SelfProtectionTests
{
    private static void AsInANewProcess(Action test)
    {
        TorchBackend.ForgetForTests();
        try
        {
            test();
        }
        finally
        {
            TorchBackend.ForgetForTests();
            TorchBackend.EnsureVerified();
        }
    }

    [Fact]
    public void Building_a_model_verifies_the_backend_and_its_convolutions_are_then_right()
    {
        AsInANewProcess(() =>
        {
            Assert.Null(TorchBackend.Status);
            manual_seed(7);
            using var model = new LeNet5();
            Assert.NotNull(TorchBackend.Status);
            Assert.True(TorchBackend.Status!.Trusted);

            // The same network in float64, where libtorch has no oneDNN path: the float32 forward must agree.
            using var reference = new LeNet5();
            reference.load_state_dict(model.state_dict());
            reference.to(float64);
            using var x = randn(new long[] { 20, 1, 28, 28 }, generator: new Generator(3));
            using var _ = no_grad();
            using var y = model.forward(x);
            using var y64 = reference.forward(x.to(float64));
            var error = y.to(float64).sub(y64).abs().max().item<double>() / y64.abs().max().item<double>();
            Assert.True(error <= 1e-5, $"float32 forward differs from float64 by {error}");
        });
    }

    [Fact]
    public void A_forced_failure_switches_oneDNN_off_as_on_a_CPU_where_it_is_wrong()
    {
        AsInANewProcess(() =>
        {
            var overrides = BackendOverrides.Read(name => name switch { "TOPIARY_ONEDNN" => "off", "TOPIARY_CHECK_CACHE" => "off", _ => null });
            var status = TorchBackend.Verify(overrides, NullLogger.Instance, useCache: true);
            Assert.Equal(SelfCheckOutcome.OneDnnDisabled, status.Outcome);
            Assert.False(status.OneDnnEnabled);
            Assert.Equal("TOPIARY_ONEDNN=off", status.ForcedBy);
            Assert.Equal(double.PositiveInfinity, status.OneDnnError);
            Assert.Equal("oneDNN off (forced by TOPIARY_ONEDNN=off)", status.OneDnnSummary);
            Assert.True(status.MaxRelativeError <= TorchBackend.Tolerance);
            Assert.Null(status.CachedIn);
        });
    }

    [Fact]
    public void A_second_process_reads_the_verdict_instead_of_checking_again()
    {
        using var dir = new TestDirectory();
        var overrides = BackendOverrides.Read(name => name == BackendOverrides.CacheDirectoryVariable ? dir.Path : null);
        BackendStatus? first = null;
        AsInANewProcess(() => first = TorchBackend.Verify(overrides, NullLogger.Instance, useCache: true));
        Assert.Null(first!.CachedIn);
        var files = Directory.GetFiles(dir.Path, "self-check-*.json");
        Assert.Single(files);
        Assert.Equal(files[0], first.SavedTo);

        BackendStatus? second = null;
        AsInANewProcess(() => second = TorchBackend.Verify(overrides, NullLogger.Instance, useCache: true));
        Assert.Equal(files[0], second!.CachedIn);
        Assert.Equal(first.Outcome, second.Outcome);
        Assert.Equal(first.OneDnnEnabled, second.OneDnnEnabled);
        Assert.Equal(first.FailedCase, second.FailedCase);

        // Other settings are another key: checked afresh, kept beside the first.
        var forced = BackendOverrides.Read(name => name switch { "TOPIARY_ONEDNN" => "off", BackendOverrides.CacheDirectoryVariable => dir.Path, _ => null });
        BackendStatus? third = null;
        AsInANewProcess(() => third = TorchBackend.Verify(forced, NullLogger.Instance, useCache: true));
        Assert.Null(third!.CachedIn);
        Assert.Equal(SelfCheckOutcome.OneDnnDisabled, third.Outcome);
        Assert.Equal(2, Directory.GetFiles(dir.Path, "self-check-*.json").Length);
    }

    [Fact]
    public void The_CLI_reports_the_backend_on_standard_output_and_keeps_bad_input_to_one_line()
    {
        var forced = new Dictionary<string, string?> { ["TOPIARY_ONEDNN"] = "off", ["TOPIARY_SIMD"] = "avx2" };
        var backend = CliProcess.RunWith(forced, "backend");
        Assert.True(backend.ExitCode == 0, backend.StandardError);
        Assert.Equal("", backend.StandardError);
        Assert.Contains("oneDNN off (forced by TOPIARY_ONEDNN=off)", backend.StandardOutput);
        Assert.Contains("Topiary kernels: " + (System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "avx2" : "portable"), backend.StandardOutput);
        Assert.Contains("convolution self-check: onednn-disabled", backend.StandardOutput);

        var unknown = CliProcess.RunWith(new Dictionary<string, string?> { ["TOPIARY_ONEDNN"] = "maybe" }, "backend");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal("topiary: error: environment variable TOPIARY_ONEDNN='maybe' is not one of: auto, off", unknown.StandardError.TrimEnd());
    }
}
