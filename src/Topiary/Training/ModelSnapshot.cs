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

    /// <summary>Takes ownership of saved parameter and mask tensors (e.g. read from a checkpoint).</summary>
    public ModelSnapshot(Dictionary<string, Tensor> parameters, Dictionary<string, Tensor> masks)
    {
        this.parameters = parameters;
        this.masks = masks;
    }

    /// <summary>The saved parameters by name, for checkpoints.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => parameters;

    /// <summary>The saved masks by name, for checkpoints.</summary>
    public IReadOnlyDictionary<string, Tensor> Masks => masks;

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
