using System.Globalization;

namespace Topiary;

/// <summary>Culture-independent percentages for messages and reports ("89.50%").</summary>
public static class Percent
{
    /// <summary>Formats a fraction as a percentage with <paramref name="decimals"/> decimals.</summary>
    public static string Of(double fraction, int decimals = 2) =>
        (100 * fraction).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";
}
