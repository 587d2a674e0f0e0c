namespace Topiary.Regularization;

/// <summary>
/// The parallel pairing of qGOFT (Ma et al., ICML 2024): d − 1 disjoint-pair rotations of d coordinates in ⌈log₂ d⌉
/// stages of a binary tree. Stage l has step s = 2^(l−1) and pairs 2s·k with 2s·k + s for k &lt; ⌊c/2⌋, c = ⌈d/s⌉ the
/// coordinates still active (the multiples of s); the pairs of a stage are disjoint, so a stage is one parallel step.
/// </summary>
internal static class GivensTree
{
    /// <summary>(step s, number of pairs) per stage, in order; the counts add up to d − 1.</summary>
    public static IEnumerable<(long Step, long Count)> Stages(long dimension)
    {
        var active = dimension;
        for (var step = 1L; active > 1; step *= 2)
        {
            var pairs = active / 2;
            yield return (step, pairs);
            active -= pairs;
        }
    }
}
