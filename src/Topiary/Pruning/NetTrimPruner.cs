using Topiary.Backend;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>What Net-Trim did to one layer.</summary>
/// <param name="Name">Layer index among the linear layers.</param>
/// <param name="NonzeroBefore">Non-zero weights and bias entries before.</param>
/// <param name="NonzeroAfter">After.</param>
/// <param name="RelativeResponseError">‖(X·Uᵀ − Y)_Ω‖/‖Y_Ω‖ on the calibration batch.</param>
public sealed record NetTrimLayerReport(string Name, long NonzeroBefore, long NonzeroAfter, double RelativeResponseError);

/// <summary>Progress of a Net-Trim run: layers done out of all.</summary>
public sealed record NetTrimProgress(int LayersDone, int Layers);

/// <summary>
/// Net-Trim as a post-training pruner (seed paper #45, see <see cref="NetTrimLayer"/>): every linear layer is
/// re-fitted sparsely so that its responses on a calibration batch stay within ε. In the parallel scheme each
/// layer sees the original network's inputs; in the cascade scheme it sees the inputs of the already trimmed
/// layers before it (the paper's cascade Net-Trim, which keeps errors from compounding). Linear layers other
/// than the last are assumed to be followed by a ReLU (LeNet-300-100, LeNet-5's classifier); convolutions are
/// left as they are. Layers must be invoked through <c>Module.call</c> so their inputs can be recorded.
/// </summary>
public static class NetTrimPruner
{
    /// <summary>Trims <paramref name="model"/> in place and returns a report per linear layer.</summary>
    public static IReadOnlyList<NetTrimLayerReport> Prune(nn.Module<Tensor, Tensor> model, Tensor calibrationInputs, double relativeEpsilon = 0.05,
        bool cascade = true, double rho = 10, int iterations = 200, IProgress<NetTrimProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        TorchBackend.EnsureVerified();
        using var recorder = new ActivationRecorder(model, includeFirst: true);
        var layerIndices = recorder.Layers.Select((module, index) => (module, index)).Where(l => l.module is Linear).ToList();
        if (layerIndices.Count == 0) throw new ArgumentException("Net-Trim needs at least one linear layer", nameof(model));
        var originalInputs = Record(model, recorder, calibrationInputs);
        var reports = new List<NetTrimLayerReport>();
        for (var k = 0; k < layerIndices.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (module, index) = layerIndices[k];
            var layer = (Linear)module;
            using var scope = NewDisposeScope();
            var inputs = cascade && k > 0 ? Record(model, recorder, calibrationInputs)[index] : originalInputs[index];
            // The responses to keep are always the original network's: computed from the original inputs.
            var target = originalInputs[index].flatten(1);
            var before = layer.weight!.count_nonzero().item<long>() + (layer.bias?.count_nonzero().item<long>() ?? 0);
            var relu = k < layerIndices.Count - 1;
            Tensor responses;
            using (no_grad()) responses = nn.functional.linear(target, layer.weight!.detach(), layer.bias?.detach());
            var result = NetTrimLayer.TrimToResponses(inputs.flatten(1), responses, layer.weight!.shape[1], layer.bias is not null, relu,
                relativeEpsilon, rho, iterations, cancellationToken);
            using (no_grad())
            {
                layer.weight!.copy_(result.Weight);
                if (result.Bias is not null) layer.bias!.copy_(result.Bias);
            }
            var after = layer.weight!.count_nonzero().item<long>() + (layer.bias?.count_nonzero().item<long>() ?? 0);
            reports.Add(new NetTrimLayerReport($"linear{k}", before, after, result.RelativeResponseError));
            progress?.Report(new NetTrimProgress(k + 1, layerIndices.Count));
        }
        foreach (var t in originalInputs) t.Dispose();
        return reports;
    }

    private static List<Tensor> Record(nn.Module<Tensor, Tensor> model, ActivationRecorder recorder, Tensor inputs)
    {
        using var _ = no_grad();
        recorder.Start();
        using (NewDisposeScope()) model.forward(inputs);
        recorder.Stop();
        var copies = recorder.Activations.Select(a => a.detach().clone().DetachFromDisposeScope()).ToList();
        recorder.Clear();
        return copies;
    }
}
