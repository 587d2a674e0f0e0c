using System.Diagnostics;
using Topiary.Reporting;

namespace Topiary.Bench;

/// <summary>Interleaved timing with medians, robust to bursts of load from other processes.</summary>
internal static class Timing
{
    /// <summary>
    /// Per-call median (ms) of each action. Every action gets the same warm-up (two calls, the second timed to size
    /// its samples). A sample is one call, or as many calls as take about 0.5 ms for very fast actions. The actions
    /// take turns sample by sample, so a burst of load from other processes hits all alike, and the median ignores
    /// the bursts. The order changes from round to round, so that every action runs in every position and right after
    /// every other one equally often: a slow neighbour (libtorch's COO matmul takes seconds and allocates gigabytes) would
    /// otherwise always disturb the same action. Rotations alone keep the cyclic order (with three actions, C would
    /// always follow B), so every other block of rotations runs in reverse.
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
            for (var turn = 0; turn < actions.Length; turn++)
            {
                var rotated = (round + turn) % actions.Length;
                var i = round / actions.Length % 2 == 0 ? rotated : actions.Length - 1 - rotated;
                var clock = Stopwatch.StartNew();
                for (var c = 0; c < calls[i]; c++) actions[i]();
                samples[i].Add(clock.Elapsed.TotalMilliseconds / calls[i]);
            }
        return samples.Select(Statistics.Median).ToArray();
    }
}
