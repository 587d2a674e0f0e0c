namespace Topiary.Comparison;

/// <summary>One run of a comparison has ended (or was found finished in its <see cref="ComparisonStore"/>).</summary>
/// <param name="Run">The run.</param>
/// <param name="SoFar">The report over every run so far (<see cref="ComparisonReport.Complete"/> false).</param>
/// <param name="Kept">Whether the run was taken from the store instead of run now.</param>
public sealed record ComparisonUpdate(ComparisonRun Run, ComparisonReport SoFar, bool Kept);
