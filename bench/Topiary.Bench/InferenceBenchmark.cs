using System.Diagnostics;
using System.Globalization;
using Topiary.Backend;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Inference latency of pruned networks in one run: dense libtorch, libtorch COO sparse matmul (linear layers;
/// convolutions stay dense, as libtorch has no sparse convolution) and Topiary's sparse model (CSR kernels with
/// the per-layer dense fallback, calibrated on this machine), on LeNet-300-100, LeNet-5 and one 4096×4096 linear
/// layer, each layer pruned by magnitude to 90/95/98/99% sparsity, and batch 1/32/256. The three variants are interleaved in rounds so that machine
/// noise hits them alike; the figures are medians. Every variant's output is checked against dense to 1e-4.
/// </summary>
internal static class InferenceBenchmark
{
    private static readonly double[] Sparsities = { 0.90, 0.95, 0.98, 0.99 };
    private static readonly int[] Batches = { 1, 32, 256 };

    public static int Run(int rounds, string? only)
    {
        var backend = TorchBackend.EnsureVerified();
        Console.WriteLine($"libtorch {backend.TorchVersion}, {get_num_threads()} threads, {Environment.ProcessorCount} cores; medians of {rounds} interleaved rounds; µs per forward call");
        Console.WriteLine();
        Console.WriteLine($"{"model",-12} {"sparsity",8} {"batch",5} {"dense",9} {"COO",9} {"Topiary",9} {"COO×",7} {"Topiary×",9} {"max|Δ|",9}  layers (S sparse, D dense)");
        var failures = new List<string>();
        var speedups = new Dictionary<(string, double, int), double>();
        foreach (var model in new[] { "lenet300", "lenet5", "linear4096" }.Where(m => only is null || m == only))
        {
            foreach (var sparsity in Sparsities)
            {
                using var scope = NewDisposeScope();
                var network = PrunedNetwork(model, sparsity);
                using var dense = new TorchNetwork(network);
                using var coo = new CooNetwork(network);
                using var sparse = new SparseInferenceModel(network);
                sparse.Calibrate(Batches);
                foreach (var batch in Batches)
                {
                    using var cell = NewDisposeScope();
                    using var _ = no_grad();
                    var input = randn(new long[] { batch, network.InputChannels, network.InputHeight, network.InputWidth }, generator: new Generator((ulong)batch));
                    var reference = dense.forward(input);
                    var scale = Math.Max(1.0, reference.abs().max().item<float>());
                    var cooError = reference.sub(coo.Forward(input)).abs().max().item<float>();
                    var sparseError = reference.sub(sparse.Forward(input)).abs().max().item<float>();
                    foreach (var (name, error) in new[] { ("COO", cooError), ("Topiary", sparseError) })
                        if (error > 1e-4 * scale) failures.Add($"{model} {sparsity:P0} batch {batch}: {name} differs from dense by {error:E2}");

                    var times = InterleavedTiming.Medians(rounds, new Action[] { () => dense.forward(input).Dispose(), () => coo.Forward(input).Dispose(), () => sparse.Forward(input).Dispose() });
                    speedups[(model, sparsity, batch)] = times[0] / times[2];
                    var plan = string.Join(" ", sparse.Plan(batch).Select(p => $"{p.Name}:{(p.SparseAtBatch[batch] ? "S" : "D")}"));
                    Console.WriteLine($"{model,-12} {F(sparsity * 100, "F0") + "%",8} {batch,5} {F(times[0] * 1000, "F1"),9} {F(times[1] * 1000, "F1"),9} {F(times[2] * 1000, "F1"),9} {F(times[0] / times[1]) + "×",7} {F(times[0] / times[2]) + "×",9} {F(Math.Max(cooError, sparseError), "E1"),9}  {plan}");
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("(COO× and Topiary×: dense time / variant time, above 1 = faster than dense)");
        if (speedups.TryGetValue(("lenet300", 0.95, 1), out var b1))
            Console.WriteLine($"goal LeNet-300-100 at 95%, batch 1: ≥ 5× dense: {(b1 >= 5 ? "met" : "NOT met")} ({F(b1)}×)");
        if (speedups.TryGetValue(("lenet300", 0.95, 32), out var b32))
            Console.WriteLine($"goal LeNet-300-100 at 95%, batch 32: ≥ 2× dense: {(b32 >= 2 ? "met" : "NOT met")} ({F(b32)}×)");
        var slowest = speedups.MinBy(kv => kv.Value);
        Console.WriteLine($"slowest cell relative to dense: {slowest.Key.Item1} {F(slowest.Key.Item2 * 100, "F0")}% batch {slowest.Key.Item3}: {F(slowest.Value)}× (below 1 = slower than dense)");
        foreach (var failure in failures) Console.WriteLine($"MISMATCH {failure}");
        Console.WriteLine(failures.Count == 0 ? "all outputs agree with dense to 1e-4" : $"{failures.Count} outputs disagree with dense");
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// A randomly initialised network whose every weight and bias tensor is pruned by magnitude to the given
    /// sparsity (uniform per layer, the usual convention for sparse-kernel benchmarks).
    /// </summary>
    internal static SequentialNetwork PrunedNetwork(string model, double sparsity)
    {
        manual_seed(7);
        using var module = model == "linear4096" ? (nn.Module)nn.Linear(4096, 4096) : ModelCatalog.Create(model);
        var parameters = model == "linear4096"
            ? module.named_parameters().Select(p => (p.name, p.parameter)).ToList()
            : ParameterSelector.Select(module, ParameterScope.WeightsAndBiases).ToList();
        foreach (var parameter in parameters)
        {
            using var masks = new PruningMasks(new[] { parameter });
            GlobalMagnitudePruner.PruneCount(masks, (long)Math.Round(sparsity * masks.Total));
        }
        if (model != "linear4096") return CatalogNetworks.FromModel(model, 28, (nn.Module<Tensor, Tensor>)module);
        var values = parameters.ToDictionary(p => p.Item1, p => p.Item2.detach().contiguous().data<float>().ToArray());
        return new SequentialNetwork(4096, 1, 1, new NetworkLayer[] { new FlattenLayer(), new LinearLayer("fc", 4096, 4096, values["weight"], values["bias"]) });
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
