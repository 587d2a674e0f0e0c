using System.Diagnostics;

namespace Topiary.Bench;

/// <summary>Interleaved timing with medians, robust to bursts of load from other processes.</summary>
internal static class Timing
{
    /// <summary>
    /// Per-call median (ms) of each action. A sample is one call, or as many calls as take about 0.5 ms for very
    /// fast actions; the actions take turns sample by sample, so a burst of load from other processes hits all alike,
    /// and the median ignores the bursts.
    /// </summary>
    public static double[] Medians(int rounds, Action[] actions)
    {
        var calls = new int[actions.Length];
        for (var i = 0; i < actions.Length; i++)
        {
            actions[i]();
            var clock = Stopwatch.StartNew();
            actions[i]();
            calls[i] = (int)Math.Clamp(0.5 / Math.Max(clock.Elapsed.TotalMilliseconds, 1e-4), 1, 500);
        }
        var samples = actions.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
            for (var i = 0; i < actions.Length; i++)
            {
                var clock = Stopwatch.StartNew();
                for (var c = 0; c < calls[i]; c++) actions[i]();
                samples[i].Add(clock.Elapsed.TotalMilliseconds / calls[i]);
            }
        return samples.Select(s => s.OrderBy(v => v).ElementAt(s.Count / 2)).ToArray();
    }
}
