using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Process-wide start-up of libtorch for Topiary: quiets c10's per-call warnings and verifies convolutions before
/// Topiary runs any. libtorch 2.10's oneDNN convolutions return wrong outputs and gradients (sometimes NaN) on some
/// AVX-512 CPUs (AMD EPYC among them); when the check fails, oneDNN is switched off through
/// <c>at::Context::setUserEnabledMkldnn(false)</c> and the check runs again.
/// <para>
/// Every Topiary entry point that can run a convolution (its models' constructors, the training and pruning loops,
/// evaluation, inference plans, exporters' references) calls <see cref="EnsureVerified"/> itself, once per process;
/// call it yourself first only to pass a logger, or before convolutions of your own that run before any Topiary
/// call. The verdict is cached per machine (<see cref="SelfCheckCache"/>), so later processes pay nothing.
/// Environment variables (<see cref="BackendOverrides"/>) can force the failure (<c>TOPIARY_ONEDNN=off</c>) and
/// cap Topiary's kernels (<c>TOPIARY_SIMD</c>).
/// </para>
/// </summary>
public static class TorchBackend
{
    /// <summary>Relative tolerance between float32 libtorch and the float64 reference.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// The convolutions the check runs, three times each with fresh data (the faults are intermittent): LeNet-5's
    /// two layers (where the fault was found: wrong forward and backward on the second, wrong weight gradients on
    /// the first), and what users' networks add: stride and padding, dilation, depthwise groups, 1×1, and Conv1d.
    /// </summary>
    public static IReadOnlyList<ConvolutionCase> Cases { get; } = new ConvolutionCase[]
    {
        new("conv2d 20→50 5×5", 2, Batch: 16, InChannels: 20, OutChannels: 50, Size: 12, Kernel: 5),
        new("conv2d 1→20 5×5", 2, Batch: 16, InChannels: 1, OutChannels: 20, Size: 28, Kernel: 5),
        new("conv2d 16→32 3×3 stride 2 padding 1", 2, Batch: 8, InChannels: 16, OutChannels: 32, Size: 16, Kernel: 3, Stride: 2, Padding: 1),
        new("conv2d 8→8 3×3 dilation 2", 2, Batch: 8, InChannels: 8, OutChannels: 8, Size: 16, Kernel: 3, Dilation: 2),
        new("conv2d 16→16 3×3 depthwise padding 1", 2, Batch: 8, InChannels: 16, OutChannels: 16, Size: 16, Kernel: 3, Padding: 1, Groups: 16),
        new("conv2d 32→64 1×1", 2, Batch: 8, InChannels: 32, OutChannels: 64, Size: 8, Kernel: 1),
        new("conv1d 16→32 k3 stride 2 padding 1", 1, Batch: 8, InChannels: 16, OutChannels: 32, Size: 64, Kernel: 3, Stride: 2, Padding: 1),
        new("conv1d 16→32 k5 padding 2", 1, Batch: 8, InChannels: 16, OutChannels: 32, Size: 64, Kernel: 5, Padding: 2),
    };

    private const int Trials = 3;

    private static readonly object Gate = new();
    private static volatile BackendStatus? _status;

    /// <summary>The status, or null when no check has run in this process yet.</summary>
    public static BackendStatus? Status
    {
        get
        {
            lock (Gate) return _status;
        }
    }

    /// <summary>The result of the self-check, running it (or reading its cached verdict) on first use.</summary>
    /// <param name="logger">Receives one information line on what was found (a warning where nothing could fix it).</param>
    /// <exception cref="BackendConfigurationException">A backend environment variable has an unknown value.</exception>
    public static BackendStatus EnsureVerified(ILogger? logger = null)
    {
        var known = _status;
        if (known is not null) return known;
        lock (Gate)
        {
            return _status ??= Verify(BackendOverrides.Current, logger ?? NullLogger.Instance, useCache: true);
        }
    }

    /// <summary>
    /// Sets the number of libtorch threads; results are only bit-reproducible for a fixed count.
    /// </summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread is needed");
        set_num_threads(threads);
        lock (Gate)
        {
            if (_status is not null) _status = _status with { Threads = threads };
        }
    }

    /// <summary>
    /// Switches oneDNN on or off by hand (e.g. to compare speed) and re-runs the self-check, without the cache:
    /// switching it on where its convolutions are wrong ends with it off again.
    /// Returns false when this libtorch does not export the switch.
    /// </summary>
    public static bool TrySetOneDnn(bool enabled, ILogger? logger = null)
    {
        lock (Gate)
        {
            LibTorchNative.SetLogLevel(2);
            if (!LibTorchNative.SetOneDnnEnabled(enabled)) return false;
            _status = Verify(BackendOverrides.Current, logger ?? NullLogger.Instance, useCache: false);
            return true;
        }
    }

    /// <summary>
    /// Runs the check again, ignoring and then replacing the cached verdict (what <c>topiary backend --recheck</c>
    /// does). oneDNN is switched on first where it can be, so that the check judges it afresh.
    /// </summary>
    public static BackendStatus Recheck(ILogger? logger = null)
    {
        lock (Gate)
        {
            LibTorchNative.SetOneDnnEnabled(true);
            _status = Verify(BackendOverrides.Current, logger ?? NullLogger.Instance, useCache: true, readCache: false);
            return _status;
        }
    }

    /// <summary>Tests only: forgets the status and switches oneDNN back on, as in a new process.</summary>
    internal static void ForgetForTests()
    {
        lock (Gate)
        {
            LibTorchNative.SetOneDnnEnabled(true);
            _status = null;
        }
    }

    /// <summary>The check itself, for given overrides (tests pass their own).</summary>
    internal static BackendStatus Verify(BackendOverrides overrides, ILogger logger, bool useCache, bool readCache = true)
    {
        LibTorchNative.SetLogLevel(2);
        var oneDnnOnAtStart = LibTorchNative.IsOneDnnEnabled() ?? true;
        // A verdict says whether oneDNN may stay on: only a check that starts with it on can give or use one.
        var cacheable = useCache && overrides.CacheEnabled && overrides.CacheDirectory is not null && oneDnnOnAtStart;
        var key = cacheable ? SelfCheckCache.Key.ForThisProcess(overrides) : null;
        var cache = key is null ? null : new SelfCheckCache(overrides.CacheDirectory!);

        if (readCache && cache is not null && cache.TryRead(key!) is { } cached && Apply(cached))
        {
            var status = StatusOf(cached, overrides) with { CachedIn = cache.PathOf(key!) };
            Report(status, logger);
            return status;
        }

        var verdict = Check(overrides, oneDnnOnAtStart);
        string? savedTo = null;
        if (cache is not null && verdict.Outcome is SelfCheckOutcome.Passed or SelfCheckOutcome.OneDnnDisabled)
        {
            if (cache.TryWrite(key!, verdict)) savedTo = cache.PathOf(key!);
            else logger.LogDebug("The self-check's verdict could not be cached in {Directory}", cache.Directory);
        }
        var fresh = StatusOf(verdict, overrides) with { SavedTo = savedTo };
        Report(fresh, logger);
        return fresh;
    }

    private static SelfCheckVerdict Check(BackendOverrides overrides, bool oneDnnOn)
    {
        double firstError;
        string? worstCase;
        string? forcedBy = null;
        if (oneDnnOn && overrides.ForceOneDnnOff)
        {
            // As if every convolution had come back NaN: from here on, the path of a CPU whose oneDNN is wrong.
            (firstError, worstCase, forcedBy) = (double.PositiveInfinity, null, $"{BackendOverrides.OneDnnVariable}=off");
        }
        else
        {
            (firstError, worstCase) = WorstError();
            if (firstError <= Tolerance) return new SelfCheckVerdict(SelfCheckOutcome.Passed, firstError);
        }

        if (!oneDnnOn || !LibTorchNative.SetOneDnnEnabled(false))
            return new SelfCheckVerdict(SelfCheckOutcome.Failed, firstError, oneDnnOn ? firstError : null, worstCase, forcedBy);
        var (fallbackError, fallbackCase) = WorstError();
        return fallbackError <= Tolerance
            ? new SelfCheckVerdict(SelfCheckOutcome.OneDnnDisabled, fallbackError, firstError, worstCase, forcedBy)
            : new SelfCheckVerdict(SelfCheckOutcome.Failed, fallbackError, firstError, fallbackCase, forcedBy);
    }

    /// <summary>Puts a cached verdict into effect; false when oneDNN would have to go off and cannot.</summary>
    private static bool Apply(SelfCheckVerdict verdict) =>
        verdict.Outcome != SelfCheckOutcome.OneDnnDisabled || LibTorchNative.SetOneDnnEnabled(false);

    private static BackendStatus StatusOf(SelfCheckVerdict verdict, BackendOverrides overrides) =>
        new(LibTorchNative.IsOneDnnEnabled() ?? false, get_num_threads(), verdict.Outcome, verdict.MaxRelativeError, __version__)
        {
            OneDnnError = verdict.OneDnnError,
            FailedCase = verdict.FailedCase,
            ForcedBy = verdict.ForcedBy,
            Kernels = overrides.Kernels,
        };

    // Information, not a warning: the fallback is the fix and the run is sound; commands show it on their backend
    // line. Only a failure that nothing fixed deserves a warning.
    private static void Report(BackendStatus status, ILogger logger)
    {
        switch (status.Outcome)
        {
            case SelfCheckOutcome.OneDnnDisabled:
                logger.LogInformation("{OneDnn}; with it off the convolution self-check passes ({Error:E2})", status.OneDnnSummary, status.MaxRelativeError);
                break;
            case SelfCheckOutcome.Failed:
                logger.LogWarning("Convolutions differ from the float64 reference by {Error:E2} ({Case}) and switching oneDNN off did not fix them; results are unreliable",
                    status.MaxRelativeError, status.FailedCase ?? "convolution");
                break;
        }
    }

    private static (double Error, string? Case) WorstError()
    {
        var worst = 0.0;
        var worstCase = 0;
        for (var trial = 0; trial < Trials; trial++)
            for (var i = 0; i < Cases.Count; i++)
            {
                var error = ConvGradientCheck.Compare(Cases[i], seed: 11 + 100 * trial + i).MaxError;
                if (error > worst) (worst, worstCase) = (error, i);
            }
        return (worst, worst <= Tolerance ? null : Cases[worstCase].Name);
    }
}
