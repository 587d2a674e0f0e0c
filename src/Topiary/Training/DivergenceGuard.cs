using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>Detects a step that went wrong: a non-finite loss, or a non-finite entry in any gradient.</summary>
internal static class DivergenceGuard
{
    /// <summary>Null when the step is sound; otherwise what was not finite, in words.</summary>
    public static string? Check(double loss, IEnumerable<Parameter> parameters)
    {
        if (!double.IsFinite(loss)) return $"loss is {loss}";
        using var scope = NewDisposeScope();
        var flags = parameters.Where(p => p.grad is not null).Select(p => p.grad!.isfinite().all()).ToArray();
        // One reduction and one read for all tensors: this runs after every step.
        return flags.Length == 0 || stack(flags).all().item<bool>() ? null : "a gradient has a NaN or infinite entry";
    }
}
