using System.Diagnostics;
using System.Globalization;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// Throughput of one model shared by concurrent callers, as a server uses it: 1 and 2 threads each calling
/// <c>Forward</c> back to back on their own inputs for a fixed time, on Topiary's calibrated model and on ONNX Runtime
/// (one session, 1 intra-op thread, which <c>Run</c> allows concurrently). Rounds alternate the variants; the figure
/// is the median of the rounds' samples per second.
/// </summary>
internal static class ThroughputBenchmark
{
    private static readonly double[] Sparsities = { 0.95 };
    private static readonly int[] Batches = { 1, 32 };

    public static int Run(int rounds, string? only, double seconds)
    {
        Topiary.Backend.TorchBackend.EnsureVerified();
        Console.WriteLine($"{Environment.ProcessorCount} cores ({InferenceBenchmark.CpuName()}), {KernelThreads.Count} kernel threads; samples per second, median of {rounds} rounds of {seconds.ToString("F1", CultureInfo.InvariantCulture)} s per variant");
        Console.WriteLine();
        Console.WriteLine($"{"model",-10} {"sparsity",8} {"batch",5} {"Topiary 1 caller",17} {"Topiary 2 callers",18} {"ORT 1 caller",13} {"ORT 2 callers",14}  plan");
        foreach (var model in new[] { "lenet300", "lenet5", "cnn" }.Where(m => only is null || m == only))
            foreach (var sparsity in Sparsities)
            {
                var network = InferenceBenchmark.PrunedNetwork(model, sparsity);
                using var sparse = new SparseInferenceModel(network);
                sparse.Calibrate(Batches);
                using var ort = new OnnxRuntimeNetwork(network, intraOpThreads: 1);
                foreach (var batch in Batches)
                {
                    var shape = network.InputShape;
                    var variants = new (Action<float[], float[]> Call, int Callers)[]
                    {
                        ((x, y) => sparse.Forward(x, y, batch), 1), ((x, y) => sparse.Forward(x, y, batch), 2),
                        ((x, y) => ort.Forward(x, y, batch), 1), ((x, y) => ort.Forward(x, y, batch), 2),
                    };
                    var samples = variants.Select(_ => new List<double>()).ToArray();
                    for (var round = 0; round < rounds; round++)
                        for (var turn = 0; turn < variants.Length; turn++)
                        {
                            var i = (turn + round) % variants.Length;
                            samples[i].Add(SamplesPerSecond(variants[i].Call, variants[i].Callers, batch, (int)shape.Size, (int)network.OutputShape.Size, seconds));
                        }
                    var medians = samples.Select(s => Topiary.Reporting.Statistics.Median(s.ToArray())).ToArray();
                    Console.WriteLine($"{model,-10} {(sparsity * 100).ToString("F0", CultureInfo.InvariantCulture) + "%",8} {batch,5} {F(medians[0]),17} {F(medians[1]),18} {F(medians[2]),13} {F(medians[3]),14}  {sparse.Describe(batch)}");
                }
            }
        return 0;
    }

    /// <summary>Samples per second of <paramref name="callers"/> threads calling back to back for <paramref name="seconds"/>.</summary>
    private static double SamplesPerSecond(Action<float[], float[]> call, int callers, int batch, int inputSize, int outputSize, double seconds)
    {
        var calls = new long[callers];
        using var start = new Barrier(callers + 1);
        var stopAt = 0L;
        var threads = Enumerable.Range(0, callers).Select(c => new Thread(() =>
        {
            var random = new Random(c);
            var input = Enumerable.Range(0, batch * inputSize).Select(_ => (float)random.NextDouble()).ToArray();
            var output = new float[batch * outputSize];
            call(input, output); // warm-up, outside the clock
            start.SignalAndWait();
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref stopAt))
            {
                call(input, output);
                calls[c]++;
            }
        })).ToList();
        foreach (var thread in threads) thread.Start();
        Volatile.Write(ref stopAt, long.MaxValue);
        start.SignalAndWait();
        var begin = Stopwatch.GetTimestamp();
        Volatile.Write(ref stopAt, begin + (long)(seconds * Stopwatch.Frequency));
        foreach (var thread in threads) thread.Join();
        var elapsed = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        return calls.Sum() * batch / elapsed;
    }

    private static string F(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
