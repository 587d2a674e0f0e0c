using Topiary.Inference;

namespace Topiary.Tests.Deployment;

public class KernelWorkersTests
{
    private static void WithThreads(int threads, Action action)
    {
        var before = KernelThreads.Count;
        try
        {
            KernelThreads.Count = threads;
            action();
        }
        finally
        {
            KernelThreads.Count = before;
        }
    }

    [Fact]
    public void Every_chunk_runs_exactly_once_also_with_concurrent_callers()
    {
        WithThreads(3, () =>
        {
            var random = new Random(31);
            var sizes = Enumerable.Range(0, 400).Select(_ => random.Next(1, 40)).ToArray();
            var runs = sizes.Select(n => new int[n]).ToArray();
            // Four callers at once: one has the helpers at a time, the others run their chunks alone.
            Parallel.For(0, sizes.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, call =>
                KernelWorkers.For(sizes[call], chunk => Interlocked.Increment(ref runs[call][chunk])));
            Assert.All(runs, counts => Assert.All(counts, c => Assert.Equal(1, c)));
        });
    }

    [Fact]
    public void A_chunks_exception_reaches_the_caller_and_the_helpers_keep_working()
    {
        WithThreads(2, () =>
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var error = Assert.Throws<InvalidOperationException>(() => KernelWorkers.For(8, chunk =>
                {
                    Thread.SpinWait(2000);
                    if (chunk == 5) throw new InvalidOperationException("chunk 5");
                }));
                Assert.Equal("chunk 5", error.Message);
            }
            var count = 0;
            KernelWorkers.For(16, _ => Interlocked.Increment(ref count));
            Assert.Equal(16, count);
        });
    }

    [Fact]
    public void Helpers_take_chunks()
    {
        // The caller claims chunk 0 and holds it until a helper has run chunk 1: no timing, no luck needed. Only a
        // helper that never starts (within 30 s) lets the caller run chunk 1 itself, and the test fail.
        WithThreads(2, () =>
        {
            var caller = Environment.CurrentManagedThreadId;
            var elsewhere = 0;
            KernelWorkers.For(2, _ =>
            {
                if (Environment.CurrentManagedThreadId != caller) Interlocked.Increment(ref elsewhere);
                else SpinWait.SpinUntil(() => Volatile.Read(ref elsewhere) > 0, TimeSpan.FromSeconds(30));
            });
            Assert.True(elsewhere > 0, "no chunk ran on a helper");
        });
    }

    [Fact]
    public void One_thread_runs_every_chunk_on_the_caller()
    {
        WithThreads(1, () =>
        {
            var caller = Environment.CurrentManagedThreadId;
            var threads = new HashSet<int>();
            KernelWorkers.For(10, _ => threads.Add(Environment.CurrentManagedThreadId));
            Assert.Equal(new[] { caller }, threads);
        });
    }
}
