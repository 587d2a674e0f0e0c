using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// <see cref="SparseInferenceModel"/> called from several threads at once, with different batch sizes, while another
/// thread switches the engines: every call gets its own input's result (to 1e-4 of the libtorch reference).
/// </summary>
public class ConcurrentInferenceTests
{
    [Fact]
    public async Task Concurrent_forward_calls_each_get_their_own_result_while_the_plan_changes()
    {
        var network = PrunedNetworks.Network("lenet5", 0.95);
        using var model = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, 1.0) });
        using var torch = new TorchNetwork(network);
        var batches = new[] { 1, 3, 8, 1, 16, 2 };
        var inputs = new List<float[]>();
        var expected = new List<float[]>();
        using (no_grad())
            for (var i = 0; i < batches.Length; i++)
            {
                using var input = PrunedNetworks.Images(batches[i], seed: 100 + i);
                inputs.Add(input.data<float>().ToArray());
                using var output = torch.forward(input);
                expected.Add(output.data<float>().ToArray());
            }
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var weighted = network.Layers.OfType<WeightedLayer>().Count();
        // Meanwhile the plan keeps changing under the callers: sparse, libtorch, ONNX Runtime, per batch size.
        var switcher = Task.Run(() =>
        {
            var engines = new[] { InferenceEngine.Topiary, InferenceEngine.LibTorch, InferenceEngine.OnnxRuntime };
            for (var n = 0; !stop.IsCancellationRequested; n++)
                model.Apply(new CalibrationChoice(new[] { 1, 4, 16 }[n % 3], engines[n / 3 % 3], 1, Enumerable.Repeat(n % 2 == 0, weighted).ToList()));
        });
        var callers = Enumerable.Range(0, 4).Select(caller => Task.Run(() =>
        {
            for (var call = 0; call < 60; call++)
            {
                var i = (caller + call) % batches.Length;
                var output = new float[expected[i].Length];
                if (call % 2 == 0)
                {
                    model.Forward(inputs[i], output, batches[i]);
                }
                else
                {
                    using var input = tensor(inputs[i]).reshape(batches[i], 1, 28, 28);
                    using var result = model.Forward(input);
                    result.data<float>().CopyTo(output, 0);
                }
                var difference = output.Zip(expected[i], (a, b) => Math.Abs(a - b)).Max();
                if (difference > 1e-4) failures.Enqueue($"caller {caller}, call {call}, batch {batches[i]}: differs by {difference:E2}");
            }
        })).ToArray();
        await Task.WhenAll(callers);
        await stop.CancelAsync();
        await switcher;
        Assert.Empty(failures);
    }
}
