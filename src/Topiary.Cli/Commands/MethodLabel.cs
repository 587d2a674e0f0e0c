using Topiary.Regularization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary>
/// One entry of <c>topiary compare --methods</c>: a pruning method, optionally with extra regularizers joined by
/// <c>+</c> (<c>none+spectral:1e-3+so:1e-4</c>), so one comparison can put regularizers from the catalogue side by
/// side under the same pruner. The extras are the same terms as <c>--reg</c> and come after any <c>--reg</c> given.
/// </summary>
internal static class MethodLabel
{
    /// <summary>Splits a label into its method and its extra regularizers (as a <c>--reg</c> list, or null).</summary>
    public static (string Method, string? Regularizers) Split(string label)
    {
        var parts = label.Split('+');
        return (parts[0], parts.Length == 1 ? null : string.Join(",", parts.Skip(1)));
    }

    /// <summary>The one-line error for the extras of <paramref name="label"/>, or null: checked early, so a typo fails before any training.</summary>
    public static string? Error(string label)
    {
        var (_, extras) = Split(label);
        if (extras is null) return null;
        try
        {
            RegularizerSpec.Parse(extras);
            return null;
        }
        catch (FormatException e)
        {
            return $"--methods: '{label}': {e.Message}";
        }
    }

    /// <summary>A <c>--reg</c> list followed by a label's extras (either may be null).</summary>
    public static string? Join(string? regularizers, string? extras) => (regularizers, extras) switch
    {
        (null, var e) => e,
        (var r, null) => r,
        var (r, e) => r + "," + e,
    };
}
