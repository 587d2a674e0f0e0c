namespace Topiary.Language;

/// <summary>Training, validation and test verse pairs, disjoint.</summary>
public sealed record ParallelSplit(IReadOnlyList<VersePair> Train, IReadOnlyList<VersePair> Validation, IReadOnlyList<VersePair> Test);
