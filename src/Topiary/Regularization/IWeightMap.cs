using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The map of a <see cref="WeightReparameterization"/>: from the trained latent tensor v to the weight w = φ_λ(v) the model
/// computes with, and back.
/// </summary>
internal interface IWeightMap
{
    /// <summary>w = φ_λ(v) for share <paramref name="strength"/> λ, differentiable in v.</summary>
    Tensor Forward(Tensor latent, double strength);

    /// <summary>A v with φ_λ(v) = w (or as close as φ_λ's range allows), for weights written from outside.</summary>
    Tensor Inverse(Tensor weight, double strength);
}
