using System.Globalization;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Where sparse stops paying: one linear layer of LeNet-300-100's fc1 shape (300×784) at densities from 1% to 50%
/// and batch 1/8/32/256, Topiary's CSR kernel (feature-major, as the sparse model runs it) against libtorch's dense
/// linear. Prints dense time / sparse time and, per batch, the largest density at which sparse is still faster;
/// <see cref="SparseCrossover.Default"/> is set from these figures.
/// </summary>
internal static class CrossoverBenchmark
{
    private static readonly double[] Densities = { 0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50 };
    private static readonly int[] Batches = { 1, 8, 32, 256 };

    public static int Run(int rounds)
    {
        const int rows = 300, columns = 784;
        Console.WriteLine($"linear {rows}×{columns}, {get_num_threads()} libtorch threads, {KernelThreads.Count} kernel threads; dense ms / sparse ms (above 1: sparse faster)");
        Console.WriteLine($"{"density",8} " + string.Join(" ", Batches.Select(b => $"{"batch " + b,10}")));
        var crossover = Batches.ToDictionary(b => b, _ => 0.0);
        var random = new Random(3);
        foreach (var density in Densities)
        {
            var dense = new float[rows * columns];
            for (var i = 0; i < dense.Length; i++) dense[i] = random.NextDouble() < density ? (float)(random.NextDouble() * 2 - 1) : 0f;
            var bias = new float[rows];
            var weight = CsrMatrix.FromDense(dense, rows, columns);
            // A copy in libtorch's own 64-byte-aligned memory, as a user's nn.Linear holds it (tensor(float[]) wraps the array).
            using var wrapped = tensor(dense);
            using var denseWeight = wrapped.reshape(rows, columns).clone();
            using var denseBias = tensor(bias);
            var cells = new List<string>();
            foreach (var batch in Batches)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var input = randn(batch, columns);
                var features = new float[columns * batch];
                var output = new float[rows * batch];
                var times = InterleavedTiming.Medians(rounds, new Action[]
                {
                    () => nn.functional.linear(input, denseWeight, denseBias).Dispose(),
                    () => SparseLinearKernel.ForwardFeatureMajor(weight, bias, features, output, batch, relu: false),
                });
                var ratio = times[0] / times[1];
                if (ratio > 1) crossover[batch] = Math.Max(crossover[batch], density);
                cells.Add($"{ratio.ToString("F2", CultureInfo.InvariantCulture) + "×",10}");
            }
            Console.WriteLine($"{(density * 100).ToString("F0", CultureInfo.InvariantCulture) + "%",8} " + string.Join(" ", cells));
        }
        Console.WriteLine("largest density where sparse was faster: " + string.Join(", ", Batches.Select(b => $"batch {b}: {(crossover[b] * 100).ToString("F0", CultureInfo.InvariantCulture)}%")));
        return 0;
    }
}
