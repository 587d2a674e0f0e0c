using Topiary.Reporting;

namespace Topiary.Inference;

/// <summary>
/// Compares the speed of a few actions on a machine that other processes share: the actions take turns sample by
/// sample, so a burst of load hits all alike, and each one's per-call time is the median of its samples, which
/// ignores the bursts. <see cref="SparseInferenceModel.Calibrate"/> times layers and whole plans with it, and
/// <c>topiary-bench</c> its tables.
/// </summary>
public static class InterleavedTiming
{
    /// <summary>A sample of a fast action is as many calls as take about this long (ms): single microsecond calls are mostly timer and scheduler noise.</summary>
    public const double SampleMilliseconds = 0.5;

    /// <summary>The most calls in one sample.</summary>
    public const int MaxCallsPerSample = 500;

    /// <summary>
    /// A pause before each sample, for actions that run on different thread pools (libtorch's OpenMP threads, ONNX
    /// Runtime's, Topiary's kernel helpers): each pool spins for a while after its last call, and on a machine with few
    /// cores the spinning threads of the action just timed take the cores the next one needs, so every multi-threaded
    /// action was timed at up to half its speed alone, by chance of its neighbours. After the pause the pools sleep,
    /// and each action is timed as it runs in service, on its own. 5 ms: on an AMD EPYC with 2 cores, ONNX Runtime's
    /// 2-thread LeNet-5-style CNN at batch 256 took 9.1 ms without it and 5.0 ms with it (<c>topiary-bench inference</c>).
    /// </summary>
    public static readonly TimeSpan EngineSettle = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// The per-call median time (ms) of each action over <paramref name="rounds"/> samples. Every action gets the same
    /// warm-up (two calls, the second timed to size its samples: one call, or as many as take about
    /// <see cref="SampleMilliseconds"/>, at most <see cref="MaxCallsPerSample"/>). In each round every action takes one
    /// sample; the order changes from round to round so that every action runs in every position and right after every
    /// other one equally often (over each 2 × <c>actions.Count</c> rounds, see <see cref="Turn"/>): a slow neighbour
    /// would otherwise always disturb the same action.
    /// </summary>
    /// <param name="rounds">Samples per action (at least 1).</param>
    /// <param name="actions">The actions to compare.</param>
    /// <param name="beforeSample">Called with the action's index before its warm-up and before each of its samples, outside the clock (e.g. to switch what the action runs).</param>
    /// <param name="time">The clock; <see cref="TimeProvider.System"/> (the high-resolution timestamp) by default.</param>
    /// <param name="settle">A pause (real time, outside the clock) before each warm-up and sample, such as <see cref="EngineSettle"/>; none by default.</param>
    public static double[] Medians(int rounds, IReadOnlyList<Action> actions, Action<int>? beforeSample = null, TimeProvider? time = null, TimeSpan settle = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        time ??= TimeProvider.System;
        var count = actions.Count;
        var calls = new int[count];
        for (var i = 0; i < count; i++)
        {
            beforeSample?.Invoke(i);
            Settle(settle);
            actions[i]();
            var start = time.GetTimestamp();
            actions[i]();
            var milliseconds = time.GetElapsedTime(start).TotalMilliseconds;
            calls[i] = (int)Math.Clamp(SampleMilliseconds / Math.Max(milliseconds, 1e-6), 1, MaxCallsPerSample);
        }
        var samples = new double[count][];
        for (var i = 0; i < count; i++) samples[i] = new double[rounds];
        for (var round = 0; round < rounds; round++)
            for (var turn = 0; turn < count; turn++)
            {
                var i = Turn(round, turn, count);
                beforeSample?.Invoke(i);
                Settle(settle);
                var start = time.GetTimestamp();
                for (var c = 0; c < calls[i]; c++) actions[i]();
                samples[i][round] = time.GetElapsedTime(start).TotalMilliseconds / calls[i];
            }
        var medians = new double[count];
        for (var i = 0; i < count; i++) medians[i] = Statistics.Median(samples[i]);
        return medians;
    }

    private static void Settle(TimeSpan settle)
    {
        if (settle > TimeSpan.Zero) Thread.Sleep(settle);
    }

    /// <summary>
    /// Which action samples at position <paramref name="turn"/> of round <paramref name="round"/>: the rows of a
    /// Williams design (a balanced Latin square: row 0 is 0, 1, n−1, 2, n−2, …, and row r adds r modulo n), each row
    /// run backwards in every other block of n rounds when n is odd. Over 2n rounds every action then takes every
    /// position twice and follows every other action twice; plain rotations would keep the cyclic order (with three
    /// actions, C would always follow B).
    /// </summary>
    internal static int Turn(int round, int turn, int count)
    {
        var backwards = count % 2 == 1 && round / count % 2 == 1;
        var t = backwards ? count - 1 - turn : turn;
        var first = t == 0 ? 0 : t % 2 == 1 ? (t + 1) / 2 : count - t / 2;
        return (first + round) % count;
    }
}
