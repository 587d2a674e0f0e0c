using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Topiary.Inference;

/// <summary>
/// Fork-join for Topiary's sparse kernels: a call's chunks are claimed one at a time, by the calling thread and by up
/// to <see cref="KernelThreads.Count"/> − 1 helper threads, so the caller never waits for a helper that has not
/// started: it runs every chunk left, and then waits only for chunks a helper already holds.
/// <para>
/// A helper spins for <see cref="SpinMicroseconds"/> after its last chunk (OpenMP runtimes, libtorch's included, do
/// the same), so back-to-back calls find it awake: handing a chunk over then costs about 0.15 µs, where
/// <c>Parallel.For</c> costs microseconds and, on a busy machine, sometimes milliseconds. Then it sleeps, and the next
/// call wakes it (a system call, which the kernels' split thresholds leave small beside the work). One call at a time
/// has the helpers; a concurrent call runs alone.
/// </para>
/// </summary>
internal static class KernelWorkers
{
    /// <summary>How long (µs) a helper spins for more work before it sleeps.</summary>
    public const double SpinMicroseconds = 20;

    private static readonly object growing = new();
    private static Helper[] helpers = Array.Empty<Helper>();
    private static Work? current;
    private static int owned;

    /// <summary>
    /// Runs <paramref name="body"/> for chunks 0 … <paramref name="chunks"/> − 1, each exactly once, on this thread
    /// and on helpers; returns when all have run, and rethrows the first exception one threw.
    /// </summary>
    /// <param name="chunks">Number of chunks.</param>
    /// <param name="body">Runs one chunk; chunks may run at the same time on different threads.</param>
    public static void For(int chunks, Action<int> body)
    {
        var wanted = Math.Min(KernelThreads.Count - 1, chunks - 1);
        if (wanted <= 0 || Interlocked.CompareExchange(ref owned, 1, 0) != 0)
        {
            for (var i = 0; i < chunks; i++) body(i);
            return;
        }
        var work = new Work(body, chunks, wanted);
        try
        {
            var team = Team(wanted);
            Interlocked.Exchange(ref current, work);
            foreach (var helper in team) helper.WakeIfAsleep();
            work.Drain(fromFront: true);
            Volatile.Write(ref current, null);
            var spin = new SpinWait();
            while (Volatile.Read(ref work.Finished) < chunks) spin.SpinOnce();
        }
        finally
        {
            Volatile.Write(ref owned, 0);
        }
        if (work.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>The first <paramref name="count"/> helpers, started on first need.</summary>
    private static ReadOnlySpan<Helper> Team(int count)
    {
        if (helpers.Length < count)
            lock (growing)
            {
                if (helpers.Length < count)
                {
                    var grown = helpers.Concat(Enumerable.Range(helpers.Length, count - helpers.Length).Select(i => new Helper(i))).ToArray();
                    Volatile.Write(ref helpers, grown);
                }
            }
        return helpers.AsSpan(0, count);
    }

    /// <summary>
    /// The chunks of one call. The caller claims from the front and helpers from the back, so that from call to call
    /// each thread tends to get the same chunks, whose weights are then already in its own core's cache.
    /// </summary>
    private sealed class Work(Action<int> body, int chunks, int helpers)
    {
        public readonly int Helpers = helpers;
        public int Finished;
        public Exception? Failure;
        // Next chunk from the front in the low 32 bits, next from the back in the high 32; none left once front > back.
        private long ends = (long)(chunks - 1) << 32;

        /// <summary>Claims and runs chunks, from the front or from the back, until none is left.</summary>
        public void Drain(bool fromFront)
        {
            while (Claim(fromFront) is var chunk and >= 0)
            {
                try
                {
                    body(chunk);
                }
                catch (Exception exception)
                {
                    Interlocked.CompareExchange(ref Failure, exception, null);
                }
                Interlocked.Increment(ref Finished);
            }
        }

        private int Claim(bool fromFront)
        {
            while (true)
            {
                var seen = Volatile.Read(ref ends);
                int front = (int)seen, back = (int)(seen >> 32);
                if (front > back) return -1;
                var next = fromFront ? seen + 1 : seen - (1L << 32);
                if (Interlocked.CompareExchange(ref ends, next, seen) == seen) return fromFront ? front : back;
            }
        }
    }

    private sealed class Helper
    {
        private readonly int index;
        private readonly SemaphoreSlim signal = new(0);
        private int asleep;

        public Helper(int index)
        {
            this.index = index;
            new Thread(Loop) { IsBackground = true, Name = $"Topiary kernel helper {index + 1}" }.Start();
        }

        /// <summary>Wakes the helper if it sleeps; exactly one caller or the helper itself clears the flag, so each sleep gets one release.</summary>
        public void WakeIfAsleep()
        {
            if (Volatile.Read(ref asleep) == 1 && Interlocked.CompareExchange(ref asleep, 0, 1) == 1) signal.Release();
        }

        private void Loop()
        {
            Work? done = null;
            var idleSince = Stopwatch.GetTimestamp();
            while (true)
            {
                var work = Volatile.Read(ref current);
                if (work is not null && work != done && index < work.Helpers)
                {
                    work.Drain(fromFront: false);
                    done = work;
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }
                if (Stopwatch.GetElapsedTime(idleSince).TotalMicroseconds < SpinMicroseconds)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                // Asleep first, then a last look: a caller that published its work before seeing the flag is caught here.
                Interlocked.Exchange(ref asleep, 1);
                var late = Volatile.Read(ref current);
                if (late is null || late == done || index >= late.Helpers || Interlocked.CompareExchange(ref asleep, 0, 1) != 1)
                    signal.Wait(); // a caller cleared the flag, so its release is on the way
                idleSince = Stopwatch.GetTimestamp();
            }
        }
    }
}
