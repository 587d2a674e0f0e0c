using System.Globalization;
using Topiary.Inference;

namespace Topiary.Bench;

/// <summary>
/// Where a sparse forward call goes: each step of a <see cref="SparseInferenceModel"/> on Topiary's kernels, timed
/// alone on managed buffers (interleaved medians), for one model, sparsity and batch. For finding what to speed up.
/// </summary>
internal static class StageBenchmark
{
    public static int Run(int rounds, string model, double sparsity, int batch)
    {
        var network = InferenceBenchmark.PrunedNetwork(model, sparsity);
        using var sparse = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, 1.0) });
        var stages = sparse.Stages;
        var random = new Random(1);
        var actions = new List<Action>();
        foreach (var stage in stages)
        {
            var input = new float[batch * stage.Input.Size];
            for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
            var output = new float[batch * stage.Output.Size];
            actions.Add(stage.Effect == StageEffect.InPlace ? () => stage.RunInPlace(output.AsSpan(0, Math.Min(output.Length, input.Length)), batch) : () => stage.Run(input, output, batch));
        }
        var whole = new float[batch * network.InputShape.Size];
        var result = new float[batch * network.OutputShape.Size];
        actions.Add(() => sparse.Forward(whole, result, batch));
        var times = InterleavedTiming.Medians(rounds, actions);
        Console.WriteLine($"{model} {sparsity:P0} batch {batch}: µs per call");
        for (var i = 0; i < stages.Count; i++)
            Console.WriteLine($"  {stages[i].GetType().Name,-28} {stages[i].Input} -> {stages[i].Output} {(times[i] * 1000).ToString("F1", CultureInfo.InvariantCulture),10}");
        Console.WriteLine($"  {"whole forward (managed)",-28} {(times[^1] * 1000).ToString("F1", CultureInfo.InvariantCulture),10}");
        return 0;
    }
}
