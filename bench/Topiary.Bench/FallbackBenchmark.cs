using System.Globalization;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// The cost of the dense fallback: Topiary's sparse model with every layer forced onto libtorch's dense kernels
/// against the plain libtorch network (<see cref="TorchNetwork"/>), interleaved in rounds. Both should run the same
/// libtorch operators on the same data, so the ratio should be 1; anything below is overhead of the fallback path.
/// The outputs must be bit-identical.
/// </summary>
internal static class FallbackBenchmark
{
    public static int Run(int rounds)
    {
        Console.WriteLine($"{get_num_threads()} libtorch threads; medians of {rounds} interleaved rounds; ms per forward call");
        Console.WriteLine($"{"model",-12} {"batch",5} {"dense",9} {"fallback",9} {"dense/fallback",14}  identical");
        var failures = 0;
        foreach (var model in new[] { "lenet300", "lenet5", "linear4096" })
        {
            using var scope = NewDisposeScope();
            var network = InferenceBenchmark.PrunedNetwork(model, 0.9);
            using var dense = new TorchNetwork(network);
            using var fallback = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, -1) });
            foreach (var batch in new[] { 1, 32, 256 })
            {
                using var cell = NewDisposeScope();
                using var _ = no_grad();
                var input = randn(new long[] { batch, network.InputChannels, network.InputHeight, network.InputWidth }, generator: new Generator((ulong)batch));
                var (expected, actual) = (dense.forward(input).contiguous(), fallback.Forward(input).contiguous());
                var identical = expected.shape.SequenceEqual(actual.shape) && expected.bytes.SequenceEqual(actual.bytes);
                if (!identical) failures++;
                var times = InterleavedTiming.Medians(rounds, new Action[] { () => dense.forward(input).Dispose(), () => fallback.Forward(input).Dispose() });
                Console.WriteLine($"{model,-12} {batch,5} {F(times[0], "F3"),9} {F(times[1], "F3"),9} {F(times[0] / times[1]) + "×",14}  {(identical ? "yes" : "NO")}");
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
