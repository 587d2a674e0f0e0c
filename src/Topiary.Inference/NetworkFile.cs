using System.Text.Json.Nodes;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>A network read from either kind of Topiary model file.</summary>
/// <param name="Network">The network (pruned entries are exact zeros).</param>
/// <param name="Architecture">The catalog architecture when the shapes are still the catalog's, else null.</param>
/// <param name="Metadata">Metadata of the source file.</param>
public sealed record LoadedNetwork(SequentialNetwork Network, string? Architecture, JsonObject Metadata);

/// <summary>Reads a <c>model.topiary</c> (<see cref="ModelFile"/>) or a sparse model file (<see cref="SparseModelFile"/>), told apart by their magic bytes.</summary>
public static class NetworkFile
{
    /// <summary>Loads the file; the masks of a <c>model.topiary</c> are applied to its weights.</summary>
    /// <exception cref="ModelFileException">The file is missing or damaged, or holds a model with no conversion to a sequential network (<see cref="NetworkConverters"/>; a Transformer).</exception>
    public static LoadedNetwork Load(string path)
    {
        if (SparseModelFile.HasMagic(path))
        {
            var sparse = SparseModelFile.Load(path);
            return new LoadedNetwork(sparse.Network, sparse.Architecture, sparse.Metadata);
        }
        var loaded = ModelFile.Load(path);
        try
        {
            loaded.ApplyMasks();
            return new LoadedNetwork(NetworkConverters.Convert(path, loaded), loaded.Architecture, loaded.Metadata);
        }
        finally
        {
            loaded.Model.Dispose();
        }
    }
}
