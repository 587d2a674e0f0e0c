using System.Globalization;
using Topiary.Regularization;

namespace Topiary.Cli.Settings;

/// <summary>
/// The relevance gate's α as typed on a command line: a number (the fixed α, the paper's 1) or <c>auto:q</c>, the
/// per-layer q-quantile of |g| (<see cref="RelevanceGate.AlphaQuantile"/>).
/// </summary>
internal static class AlphaArgument
{
    private const string AutoPrefix = "auto:";

    /// <summary>The gate <paramref name="text"/> describes, on top of <paramref name="baseline"/>; null with <paramref name="error"/> set when it is not valid.</summary>
    public static RelevanceGate? Parse(string flag, string text, RelevanceGate baseline, out string? error)
    {
        var auto = text.StartsWith(AutoPrefix, StringComparison.OrdinalIgnoreCase);
        var number = auto ? text[AutoPrefix.Length..] : text;
        var gate = double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? auto ? baseline with { AlphaQuantile = value } : baseline with { Alpha = value, AlphaQuantile = null }
            : null;
        var problem = gate?.Problems().Select(p => p.Reason).FirstOrDefault();
        error = gate is null || problem is not null
            ? $"{flag}: expected a number > 0 or auto:q with q in (0, 1], got '{text}'{(problem is null ? "" : $" ({problem})")}"
            : null;
        return error is null ? gate : null;
    }
}
