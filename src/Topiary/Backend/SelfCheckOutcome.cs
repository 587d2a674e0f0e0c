namespace Topiary.Backend;

/// <summary>What the convolution self-check of <see cref="TorchBackend"/> concluded.</summary>
public enum SelfCheckOutcome
{
    /// <summary>The check has not run in this process.</summary>
    Unchecked,
    /// <summary>libtorch's convolutions agreed with the float64 reference as they were (oneDNN on or off).</summary>
    Passed,
    /// <summary>With oneDNN on they were wrong (or the failure was forced by <c>TOPIARY_ONEDNN=off</c>); oneDNN is off now and the check passes.</summary>
    OneDnnDisabled,
    /// <summary>They are wrong and switching oneDNN off did not help (or could not be done): results are unreliable.</summary>
    Failed,
}

/// <summary>The names <see cref="SelfCheckOutcome"/> has in reports and on the command line.</summary>
public static class SelfCheckOutcomeNames
{
    /// <summary><c>passed</c>, <c>onednn-disabled</c>, <c>failed</c> or <c>unchecked</c>.</summary>
    public static string Name(this SelfCheckOutcome outcome) => outcome switch
    {
        SelfCheckOutcome.Passed => "passed",
        SelfCheckOutcome.OneDnnDisabled => "onednn-disabled",
        SelfCheckOutcome.Failed => "failed",
        _ => "unchecked",
    };
}
