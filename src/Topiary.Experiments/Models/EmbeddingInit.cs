using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Topiary.Models;

/// <summary>The Transformers' embedding initialization: N(0, 0.02²), as GPT-2's.</summary>
internal static class EmbeddingInit
{
    /// <summary>
    /// Draws every table from N(0, 0.02²), in the order given (the draws come from the global generator).
    /// N(0, 1), TorchSharp's default, would make a tied head's first logits huge.
    /// </summary>
    public static void SmallNormal(params Embedding[] embeddings)
    {
        using var _ = no_grad();
        foreach (var embedding in embeddings) init.normal_(embedding.weight!, 0, 0.02);
    }
}
