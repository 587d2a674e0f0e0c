using System.Diagnostics;
using System.Globalization;
using Topiary.Backend;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Inference latency of pruned networks in one run: dense libtorch, ONNX Runtime (the exported model, 1 and 2
/// intra-op threads), libtorch COO sparse matmul (linear layers; convolutions stay dense, as libtorch has no sparse
/// convolution) and Topiary's sparse model (calibrated on this machine), on LeNet-300-100, LeNet-5 and one 4096×4096
/// linear layer, each layer pruned by magnitude to 90/95/98/99% sparsity, and batch 1/32/256. The variants are
/// interleaved in rounds so that machine noise hits them alike; the figures are medians. Every engine's output is
/// checked against libtorch's to 1e-4.
/// </summary>
internal static class InferenceBenchmark
{
    private static readonly double[] Sparsities = { 0.90, 0.95, 0.98, 0.99 };
    private static readonly int[] Batches = { 1, 32, 256 };
    private static readonly string[] Models = { "lenet300", "lenet5", "cnn", "linear4096" };

    public static int Run(int rounds, string? only)
    {
        var backend = TorchBackend.EnsureVerified();
        Console.WriteLine($"libtorch {backend.TorchVersion}, {get_num_threads()} threads, {Environment.ProcessorCount} cores ({CpuName()}); ONNX Runtime with 1 and 2 intra-op threads, the faster is ORT; medians of {rounds} interleaved rounds, {InterleavedTiming.EngineSettle.TotalMilliseconds:F0} ms apart; µs per forward call");
        Console.WriteLine();
        Console.WriteLine($"{"model",-12} {"sparsity",8} {"batch",5} {"libtorch",9} {"ORT 1t",9} {"ORT 2t",9} {"COO",9} {"Topiary",9} {"vs torch",9} {"vs best",8} {"max|Δ|",8}  plan");
        var failures = new List<string>();
        var versusBest = new Dictionary<(string, double, int), double>();
        var versusOrt = new Dictionary<(string, double, int), double>();
        foreach (var model in Models.Where(m => only is null || m == only))
        {
            foreach (var sparsity in Sparsities)
            {
                using var scope = NewDisposeScope();
                var network = PrunedNetwork(model, sparsity);
                using var dense = new TorchNetwork(network);
                using var ort1 = new OnnxRuntimeNetwork(network, intraOpThreads: 1);
                using var ort2 = new OnnxRuntimeNetwork(network, intraOpThreads: 2);
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
                    var variants = new (string Name, Func<Tensor> Forward)[]
                    {
                        ("ORT 1 thread", () => ort1.Forward(input)), ("ORT 2 threads", () => ort2.Forward(input)),
                        ("COO", () => coo.Forward(input)), ("Topiary", () => sparse.Forward(input)),
                    };
                    var largest = 0.0;
                    foreach (var (name, forward) in variants)
                    {
                        // Every engine against libtorch: so all agree with each other to twice the tolerance.
                        var error = reference.sub(forward()).abs().max().item<float>();
                        largest = Math.Max(largest, error);
                        if (error > 1e-4 * scale) failures.Add($"{model} {sparsity:P0} batch {batch}: {name} differs from libtorch by {error:E2}");
                    }
                    var times = InterleavedTiming.Medians(rounds, new Action[]
                    {
                        () => dense.forward(input).Dispose(), () => ort1.Forward(input).Dispose(), () => ort2.Forward(input).Dispose(),
                        () => coo.Forward(input).Dispose(), () => sparse.Forward(input).Dispose(),
                    }, settle: InterleavedTiming.EngineSettle);
                    var ort = Math.Min(times[1], times[2]);
                    var best = Math.Min(times[0], ort);
                    versusBest[(model, sparsity, batch)] = best / times[4];
                    versusOrt[(model, sparsity, batch)] = ort / times[4];
                    Console.WriteLine($"{model,-12} {F(sparsity * 100, "F0") + "%",8} {batch,5} {F(times[0] * 1000, "F1"),9} {F(times[1] * 1000, "F1"),9} {F(times[2] * 1000, "F1"),9} {F(times[3] * 1000, "F1"),9} {F(times[4] * 1000, "F1"),9} {F(times[0] / times[4]) + "×",9} {F(best / times[4]) + "×",8} {F(largest, "E1"),8}  {sparse.Describe(batch)}");
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("(vs torch: libtorch time / Topiary time; vs best: the faster of libtorch and ORT / Topiary time; above 1 = Topiary faster)");
        void Goal(string model, double sparsity, int batch, double wanted, string label)
        {
            if (versusOrt.TryGetValue((model, sparsity, batch), out var ratio))
                Console.WriteLine($"goal {label} at {sparsity:P0}, batch {batch}: ≥ {F(wanted, "F1")}× ONNX Runtime: {(ratio >= wanted ? "met" : "NOT met")} ({F(ratio)}×)");
        }
        Goal("lenet300", 0.95, 1, 5, "LeNet-300-100");
        Goal("lenet5", 0.95, 1, 3, "LeNet-5");
        Goal("lenet5", 0.95, 32, 1.5, "LeNet-5");
        if (versusBest.Count > 0)
        {
            var slowest = versusBest.MinBy(kv => kv.Value);
            Console.WriteLine($"slowest cell against the best dense engine: {slowest.Key.Item1} {F(slowest.Key.Item2 * 100, "F0")}% batch {slowest.Key.Item3}: {F(slowest.Value)}× (goal: none below 0.95×)");
        }
        foreach (var failure in failures) Console.WriteLine($"MISMATCH {failure}");
        Console.WriteLine(failures.Count == 0 ? "all outputs agree with libtorch to 1e-4" : $"{failures.Count} outputs disagree with libtorch");
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>The CPU's model name (Linux), for the figures' provenance.</summary>
    internal static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>
    /// A randomly initialised network whose every weight and bias tensor is pruned by magnitude to the given
    /// sparsity (uniform per layer, the usual convention for sparse-kernel benchmarks).
    /// </summary>
    internal static SequentialNetwork PrunedNetwork(string model, double sparsity)
    {
        manual_seed(7);
        if (model == "cnn") return UserStyleCnn(sparsity);
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

    /// <summary>
    /// A CNN as a user writes one, on 1×28×28: conv 3×3 padding 1 (1→16), BatchNorm, ReLU; conv 3×3 stride 2 padding 1
    /// (16→32), BatchNorm, ReLU; conv 3×3 padding 1 (32→32), BatchNorm, ReLU; max-pool 2; Flatten; Linear 1568→128,
    /// ReLU, Dropout; Linear 128→10. Every weight tensor is pruned by magnitude to the sparsity, the BatchNorm running
    /// statistics are moved by three training-mode forwards, and <see cref="SequentialNetworks.FromSequential"/> folds
    /// each BatchNorm into the convolution before it.
    /// </summary>
    private static SequentialNetwork UserStyleCnn(double sparsity)
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding: 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride: 2, padding: 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding: 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(1568, 128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 10));
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters().ToList())
            {
                if (!name.EndsWith(".weight", StringComparison.Ordinal) || parameter.dim() < 2) continue;
                using var masks = new PruningMasks(new[] { (name, parameter) });
                GlobalMagnitudePruner.PruneCount(masks, (long)Math.Round(sparsity * masks.Total));
            }
            model.train();
            var generator = new Generator(11);
            for (var i = 0; i < 3; i++) model.forward(randn(new long[] { 32, 1, 28, 28 }, generator: generator).mul(2).add(0.5));
            model.eval();
        }
        return SequentialNetworks.FromSequential(model, 1, 28, 28);
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
