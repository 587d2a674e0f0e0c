namespace Topiary.Backend;

/// <summary>What the start-up self-check found and what it left switched on.</summary>
/// <param name="OneDnnEnabled">Whether libtorch may use oneDNN (mkldnn) kernels now.</param>
/// <param name="Threads">libtorch intra-op threads.</param>
/// <param name="Outcome"><c>passed</c>, <c>onednn-disabled</c> (oneDNN failed, fallback passed), <c>failed</c> or <c>unchecked</c>.</param>
/// <param name="MaxRelativeError">Worst relative error of the final check.</param>
/// <param name="TorchVersion">libtorch version reported by TorchSharp.</param>
public sealed record BackendStatus(bool OneDnnEnabled, int Threads, string Outcome, double MaxRelativeError, string TorchVersion)
{
    /// <summary>True when convolution gradients can be trusted.</summary>
    public bool Trusted => Outcome is "passed" or "onednn-disabled";
}
