namespace Topiary.Backend;

/// <summary>What the start-up self-check found and what it left switched on.</summary>
/// <param name="OneDnnEnabled">Whether libtorch may use oneDNN (mkldnn) kernels now.</param>
/// <param name="Threads">libtorch intra-op threads.</param>
/// <param name="Outcome">What the check concluded.</param>
/// <param name="MaxRelativeError">Worst relative error of the final check (or of the cached one).</param>
/// <param name="TorchVersion">libtorch version reported by TorchSharp.</param>
public sealed record BackendStatus(bool OneDnnEnabled, int Threads, SelfCheckOutcome Outcome, double MaxRelativeError, string TorchVersion)
{
    /// <summary>True when convolutions and their gradients can be trusted.</summary>
    public bool Trusted => Outcome is SelfCheckOutcome.Passed or SelfCheckOutcome.OneDnnDisabled;

    /// <summary>Worst relative error with oneDNN on, when that check failed (∞ for NaN, or when the failure was forced).</summary>
    public double? OneDnnError { get; init; }

    /// <summary>The convolution that failed worst with oneDNN on (for example <c>conv2d 20→50 5×5</c>).</summary>
    public string? FailedCase { get; init; }

    /// <summary>The setting that forced oneDNN's failure (<c>TOPIARY_ONEDNN=off</c>), when it was forced rather than measured.</summary>
    public string? ForcedBy { get; init; }

    /// <summary>The CPU, as the operating system names it.</summary>
    public string Cpu { get; init; } = MachineIdentity.Current.Cpu;

    /// <summary>The instruction set Topiary's own kernels use (<see cref="BackendOverrides.Kernels"/>).</summary>
    public KernelInstructionSet Kernels { get; init; } = KernelInstructionSet.Portable;

    /// <summary>The verdict file this status was read from, or null when the check ran in this process.</summary>
    public string? CachedIn { get; init; }

    /// <summary>The verdict file a check of this process wrote, or null when it read one, or kept none.</summary>
    public string? SavedTo { get; init; }

    /// <summary>
    /// One phrase on oneDNN for people: <c>oneDNN on</c>, or why it is off, e.g.
    /// <c>oneDNN off (its conv2d 20→50 5×5 was wrong on this CPU: relative error 0.84)</c>.
    /// </summary>
    public string OneDnnSummary => Outcome switch
    {
        SelfCheckOutcome.OneDnnDisabled when ForcedBy is not null => $"oneDNN off (forced by {ForcedBy})",
        SelfCheckOutcome.OneDnnDisabled => $"oneDNN off (its {FailedCase ?? "convolution"} was wrong on this CPU: relative error {Format(OneDnnError ?? double.PositiveInfinity)})",
        _ => OneDnnEnabled ? "oneDNN on" : "oneDNN off",
    };

    private static string Format(double error) => double.IsFinite(error) ? error.ToString("G2", System.Globalization.CultureInfo.InvariantCulture) : "NaN or ∞";
}
