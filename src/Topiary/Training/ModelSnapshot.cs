using Topiary.Backend;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>An in-memory copy of a model's parameters, buffers and masks, to restore the selected checkpoint.</summary>
internal sealed class ModelSnapshot : IDisposable
{
    private readonly ModuleState state;
    private readonly Dictionary<string, Tensor> masks;

    public ModelSnapshot(nn.Module model, PruningMasks pruning)
    {
        state = ModuleState.Of(model);
        masks = pruning.Snapshot();
    }

    /// <summary>Takes ownership of saved tensors (e.g. read from a checkpoint): parameters and buffers by name, and masks.</summary>
    public ModelSnapshot(Dictionary<string, Tensor> tensors, Dictionary<string, Tensor> masks)
    {
        state = ModuleState.Adopt(tensors);
        this.masks = masks;
    }

    /// <summary>The saved parameters and buffers by name, for checkpoints.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => state.Tensors;

    /// <summary>The saved masks by name, for checkpoints.</summary>
    public IReadOnlyDictionary<string, Tensor> Masks => masks;

    public void RestoreInto(nn.Module model, PruningMasks pruning)
    {
        state.RestoreInto(model);
        pruning.CopyFrom(masks);
    }

    public void Dispose()
    {
        state.Dispose();
        foreach (var t in masks.Values) t.Dispose();
    }
}
