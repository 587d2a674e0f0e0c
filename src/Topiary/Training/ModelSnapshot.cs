using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>An in-memory copy of a model's parameters and masks, to restore the selected checkpoint.</summary>
internal sealed class ModelSnapshot : IDisposable
{
    private readonly Dictionary<string, Tensor> parameters;
    private readonly Dictionary<string, Tensor> masks;

    public ModelSnapshot(nn.Module model, PruningMasks pruning)
    {
        using var _ = no_grad();
        parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
        masks = pruning.Snapshot();
    }

    public void RestoreInto(nn.Module model, PruningMasks pruning)
    {
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters()) parameter.copy_(parameters[name]);
        }
        pruning.CopyFrom(masks);
    }

    public void Dispose()
    {
        foreach (var t in parameters.Values.Concat(masks.Values)) t.Dispose();
    }
}
