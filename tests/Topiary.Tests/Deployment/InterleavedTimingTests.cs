using Topiary.Inference;

namespace Topiary.Tests.Deployment;

/// <summary><see cref="InterleavedTiming"/> on a fake clock that the fake actions advance by known costs: no real timing.</summary>
public class InterleavedTimingTests
{
    /// <summary>A clock in ticks of one nanosecond that moves only when told to.</summary>
    private sealed class FakeClock : TimeProvider
    {
        public long Now;

        public override long TimestampFrequency => 1_000_000_000;

        public override long GetTimestamp() => Now;

        public void Advance(double milliseconds) => Now += (long)Math.Round(milliseconds * 1e6);
    }

    [Fact]
    public void Medians_are_the_per_call_costs_and_ignore_bursts_of_load()
    {
        var clock = new FakeClock();
        var costs = new[] { 3.0, 0.01, 1.0 };
        var samples = 0;
        var burst = false;
        var actions = costs.Select(cost => (Action)(() => clock.Advance(burst ? 50 * cost : cost))).ToList();

        // Every fourth sample (whichever action it belongs to) runs during a burst of load that makes calls 50 times slower.
        var medians = InterleavedTiming.Medians(21, actions, beforeSample: _ => burst = ++samples % 4 == 0, time: clock);

        for (var i = 0; i < costs.Length; i++) Assert.Equal(costs[i], medians[i], 9);
        Assert.Equal(new[] { 1, 2, 0 }, medians.Select((m, i) => (m, i)).OrderBy(p => p.m).Select(p => p.i));
    }

    [Fact]
    public void The_settling_pause_comes_before_every_warm_up_and_sample_and_stays_off_the_clock()
    {
        var clock = new FakeClock();
        var pausedBefore = new List<bool>();
        var lastCallEnded = System.Diagnostics.Stopwatch.GetTimestamp();
        var actions = new Action[] { () => clock.Advance(1), () => clock.Advance(2) };
        var watched = actions.Select(a => (Action)(() =>
        {
            // A call that starts at least the pause after the previous one ended was settled; the calls of one sample follow each other at once.
            pausedBefore.Add(System.Diagnostics.Stopwatch.GetElapsedTime(lastCallEnded) >= TimeSpan.FromMilliseconds(4));
            a();
            lastCallEnded = System.Diagnostics.Stopwatch.GetTimestamp();
        })).ToList();

        var medians = InterleavedTiming.Medians(3, watched, time: clock, settle: TimeSpan.FromMilliseconds(5));

        Assert.Equal(new[] { 1.0, 2.0 }, medians);
        // Per action: a first warm-up call after a pause, a second one at once; then one call per sample, each after a pause.
        // Only the pauses that must be there are asserted: a loaded machine may delay an unpaused call as well.
        Assert.Equal(2 * 2 + 3 * 2, pausedBefore.Count);
        Assert.True(pausedBefore[0] && pausedBefore[2], "a warm-up started without the pause");
        Assert.True(pausedBefore.Skip(4).All(p => p), "a sample started without the pause");
    }

    [Fact]
    public void A_fast_action_is_timed_over_several_calls_per_sample()
    {
        var clock = new FakeClock();
        var calls = new int[2];
        var actions = new Action[] { () => { calls[0]++; clock.Advance(0.01); }, () => { calls[1]++; clock.Advance(2); } };

        InterleavedTiming.Medians(5, actions, time: clock);

        // Two warm-up calls, then samples of about 0.5 ms: 50 calls of 0.01 ms, one call of 2 ms.
        Assert.Equal(2 + 5 * 50, calls[0]);
        Assert.Equal(2 + 5, calls[1]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Every_action_samples_in_every_position_and_after_every_other_equally_often(int count)
    {
        var rounds = 2 * count;
        var positions = new int[count, count];
        var follows = new int[count, count];
        for (var round = 0; round < rounds; round++)
        {
            var order = Enumerable.Range(0, count).Select(turn => InterleavedTiming.Turn(round, turn, count)).ToList();
            Assert.Equal(Enumerable.Range(0, count), order.Order());
            for (var turn = 0; turn < count; turn++)
            {
                positions[order[turn], turn]++;
                if (turn > 0) follows[order[turn - 1], order[turn]]++;
            }
        }
        for (var a = 0; a < count; a++)
            for (var b = 0; b < count; b++)
            {
                Assert.Equal(2, positions[a, b]);
                Assert.Equal(a == b ? 0 : 2, follows[a, b]);
            }
    }

    [Fact]
    public void The_set_up_before_each_sample_runs_outside_the_clock()
    {
        var clock = new FakeClock();
        var current = -1;
        var actions = new Action[] { () => clock.Advance(current == 0 ? 1 : 99), () => clock.Advance(current == 1 ? 2 : 99) };

        var medians = InterleavedTiming.Medians(4, actions, beforeSample: i => current = i, time: clock);

        Assert.Equal(new[] { 1.0, 2.0 }, medians);
    }
}
