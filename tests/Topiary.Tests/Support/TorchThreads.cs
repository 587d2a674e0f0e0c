using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Tests.Support;

/// <summary>
/// Runs a test with a given libtorch thread count and restores the previous one: on a shared 2-core
/// machine one thread avoids OpenMP contention, which makes small-model steps ten times slower.
/// </summary>
internal sealed class TorchThreads : IDisposable
{
    private readonly int previous;

    private TorchThreads(int threads)
    {
        previous = get_num_threads();
        TorchBackend.SetThreads(threads);
    }

    public static TorchThreads Use(int threads) => new(threads);

    public void Dispose() => TorchBackend.SetThreads(previous);
}
