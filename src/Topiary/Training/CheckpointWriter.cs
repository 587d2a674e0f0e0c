using Topiary.Checkpoints;
namespace Topiary.Training;

/// <summary>
/// Writes a run's checkpoints to disk on a background thread, so that training goes on while a file is flushed and
/// renamed. The checkpoint is encoded on the calling thread (<see cref="Submit"/>), into managed memory: the writer
/// thread makes no libtorch or TorchSharp call at all, because TorchSharp calls on a second thread, concurrent with
/// training, corrupted scalars of the training thread under load (seen as "Unknown scalar type" and failed
/// Scalar.toFloat checks in ResumeTests and a translation run). Each file still appears atomically and whole. Writes coalesce: a checkpoint that waits behind
/// a running write is replaced by a newer one for the same file, so the disk is written at most as fast as it keeps
/// up, and a killed run loses at most the work since the last checkpoint that reached the disk. A write that fails
/// is thrown by the next <see cref="Submit"/> or by <see cref="Flush"/>.
/// </summary>
internal sealed class CheckpointWriter : IDisposable
{
    private sealed class Job(IO.ChunkedBuffer encoded, string? last, string? best)
    {
        public IO.ChunkedBuffer Encoded { get; } = encoded;
        public string? Last { get; set; } = last;
        public string? Best { get; } = best;
    }

    private readonly object gate = new();
    private readonly List<Job> pending = [];
    private Thread? worker;
    private bool writing;
    private bool stopped;
    private Exception? failure;

    /// <summary>Time the calling thread spent waiting in <see cref="Flush"/>.</summary>
    public TimeSpan Waited { get; private set; }

    /// <summary>
    /// Encodes <paramref name="checkpoint"/> on the calling thread (the caller keeps it) and queues the bytes for
    /// <paramref name="lastPath"/> and, when given, <paramref name="bestPath"/>. Waiting checkpoints whose files this
    /// one also writes are dropped.
    /// </summary>
    public void Submit(TrainingCheckpoint checkpoint, string? lastPath, string? bestPath)
    {
        // Encoded here, on the training thread: the writer thread only copies bytes to disk.
        var encoded = checkpoint.EncodeChunks();
        lock (gate)
        {
            ThrowIfFailed();
            foreach (var job in pending.ToList())
            {
                if (lastPath is not null) job.Last = null;
                if (job.Last is null && (job.Best is null || bestPath is not null))
                {
                    pending.Remove(job);
                }
            }
            pending.Add(new Job(encoded, lastPath, bestPath));
            if (worker is null)
            {
                worker = new Thread(Work) { IsBackground = true, Name = "topiary-checkpoint-writer" };
                worker.Start();
            }
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Waits until every queued checkpoint is on disk; rethrows a write that failed.</summary>
    public void Flush()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        lock (gate)
        {
            while ((pending.Count > 0 || writing) && failure is null) Monitor.Wait(gate);
            Waited += clock.Elapsed;
            ThrowIfFailed();
        }
    }

    private void ThrowIfFailed()
    {
        if (failure is { } e)
        {
            failure = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        }
    }

    private void Work()
    {
        while (true)
        {
            Job job;
            lock (gate)
            {
                while (pending.Count == 0 && !stopped) Monitor.Wait(gate);
                if (pending.Count == 0) return;
                job = pending[0];
                pending.RemoveAt(0);
                writing = true;
            }
            try
            {
                if (job.Last is { } last) CheckpointFile.Write(last, job.Encoded);
                if (job.Best is { } best) CheckpointFile.Write(best, job.Encoded);
            }
            catch (Exception e)
            {
                lock (gate) failure ??= e;
            }
            finally
            {
                lock (gate)
                {
                    writing = false;
                    Monitor.PulseAll(gate);
                }
            }
        }
    }

    /// <summary>Writes what is queued, then ends the writer's thread.</summary>
    public void Dispose()
    {
        try
        {
            Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException)
        {
            // Disposal on an error path: the error that ended the run is the one to report.
        }
        lock (gate)
        {
            stopped = true;
            Monitor.PulseAll(gate);
        }
    }
}
