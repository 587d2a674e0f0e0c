using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The Least Volume penalty of Chen, Fuge, "Compressing Latent Space via Least Volume" (ICLR 2024, seed paper #108):
/// LV(Z) = (∏_{i=1..m}(σ_i + η))^{1/m} = exp((1/m)Σ_i log(σ_i + η)), the geometric mean of the batch standard deviations
/// σ_i of the m latent dimensions, with η &gt; 0 keeping the logarithm finite once a latent collapses. Its gradient on σ_i is
/// LV/(m(σ_i + η)), largest for the smallest σ_i, so it flattens the latent set along the least used directions first
/// (the paper's PCA-like ordering) and the number of active latents falls as λ grows. R = λ·LV.
/// <para>
/// Adapted: the latent code is the penultimate representation h (the input of the classifier's last linear layer,
/// <see cref="PenultimateRepresentation"/>) and the decoder is that head W. The paper requires a Lipschitz decoder (spectral
/// normalization), since otherwise the encoder can shrink every σ_i and the decoder scale back up. Instead of constraining
/// the head, with <see cref="Lipschitz"/> (the default) the volume is measured in the frame where the head is 1-Lipschitz:
/// h' = ‖W‖₂·h and W' = W/‖W‖₂ give the same logits, and LV is taken of h' (‖W‖₂ by SVD, with its gradient), which removes
/// that trade-off from the penalty. Without it the penalty is the paper's on h, and the head should be kept Lipschitz
/// otherwise (e.g. with the <c>spectral</c> term). σ_i is the unbiased batch standard deviation, so a batch needs two examples.
/// </para>
/// </summary>
public sealed class LeastVolume : GradientRegularizer
{
    /// <summary>Creates the penalty.</summary>
    /// <param name="eta">η, added to every σ_i before the logarithm.</param>
    /// <param name="lipschitz">Whether the volume is measured with the head scaled to spectral norm 1 (see the class remarks).</param>
    /// <exception cref="ArgumentOutOfRangeException">η is not a positive number.</exception>
    public LeastVolume(double eta = 1, bool lipschitz = true)
    {
        if (!(eta > 0 && double.IsFinite(eta))) throw new ArgumentOutOfRangeException(nameof(eta), eta, $"eta must be a number > 0, got {eta}");
        Eta = eta;
        Lipschitz = lipschitz;
    }

    /// <summary>η.</summary>
    public double Eta { get; }

    /// <summary>Whether the features are scaled by the head's spectral norm before the volume is taken.</summary>
    public bool Lipschitz { get; }

    /// <inheritdoc />
    public override string Name => "lv";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <summary>exp((1/m)Σ_i log(σ_i + η)) for the (B, m) <paramref name="latents"/>, σ_i their unbiased standard deviation over the batch; differentiable.</summary>
    /// <exception cref="ArgumentException">Fewer than two examples.</exception>
    public static Tensor Volume(Tensor latents, double eta)
    {
        if (latents.shape[0] < 2) throw new ArgumentException($"the least-volume penalty needs at least two examples in a batch, got {latents.shape[0]}", nameof(latents));
        return latents.std(0).add(HeldScalar.Of(eta)).log().mean().exp();
    }

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var latents = PenultimateRepresentation.Of(context, Name);
        if (Lipschitz) latents = latents.mul(linalg.svdvals(ClassifierHead.Weight(context.Model, Name)).max());
        return Volume(latents, Eta).mul(HeldScalar.Of(strength));
    }

    /// <summary>Acts on the features (and the head): zero per tensor.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
