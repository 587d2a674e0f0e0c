namespace Topiary.Inference;

/// <summary>
/// How many threads Topiary's sparse kernels may use (the counterpart of libtorch's <c>set_num_threads</c>);
/// defaults to the number of cores: the calling thread and Count − 1 helpers (<see cref="KernelWorkers"/>). One thread
/// avoids waiting on descheduled helpers on an oversubscribed machine.
/// </summary>
public static class KernelThreads
{
    private static int count = Environment.ProcessorCount;

    /// <summary>Maximum number of threads per kernel call, at least 1.</summary>
    public static int Count
    {
        get => count;
        set => count = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one thread is needed");
    }
}
