namespace Topiary.Tests.Support;

/// <summary>
/// A fact that runs once per <c>./topiary.sh test</c>, in the machine leg (topiary.sh sets TOPIARY_TEST_LEG), and is
/// skipped, with the reason, in the other leg: for tests of orchestration (processes, files, locks) whose outcome does
/// not depend on the kernel paths the legs differ in, and which cost too much to run twice.
/// </summary>
internal sealed class MachineLegFactAttribute : FactAttribute
{
    public MachineLegFactAttribute(string what) => Skip = OutsideMachineLeg(what);

    /// <summary>Why a test of <paramref name="what"/> is skipped in this leg, or null in the machine leg (or outside topiary.sh).</summary>
    public static string? OutsideMachineLeg(string what) =>
        Environment.GetEnvironmentVariable("TOPIARY_TEST_LEG") is { Length: > 0 } leg && leg != "machine"
            ? $"{what} is tested once per run, in the machine leg, and this is the {leg} leg"
            : null;
}
