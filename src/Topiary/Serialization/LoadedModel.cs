using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// The contents of a model file: the model (rebuilt, or the module it was loaded into), its pruning masks by parameter
/// name (float32, 1 kept and 0 pruned) and free metadata. <see cref="ImageSize"/> and <see cref="Classes"/> are those of
/// files saved with them (image and language models); 0 otherwise.
/// </summary>
public sealed record LoadedModel(string Architecture, int ImageSize, int Classes, nn.Module<Tensor, Tensor> Model,
    IReadOnlyDictionary<string, Tensor> Masks, JsonObject Metadata)
{
    /// <summary>The architecture's own settings from the header (the Transformer's sizes and vocabulary, a user architecture's config); null for image models.</summary>
    public JsonObject? ArchitectureConfig { get; init; }

    /// <summary>Multiplies every masked parameter by its mask, so that pruned weights are exact zeros.</summary>
    public void ApplyMasks()
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in Model.named_parameters())
            if (Masks.TryGetValue(name, out var mask)) parameter.mul_(mask);
    }
}
