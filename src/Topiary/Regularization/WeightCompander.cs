using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Weight compander, from Cakaj, Mehnert, Yang, "Weight Compander: A Simple Weight Reparameterization for Regularization"
/// (IJCNN 2023, seed paper #23): every weight is reparameterized as w = φ(v) = a·arctan(v/b), a, b &gt; 0 shared by all weights,
/// and the new weight v is trained. φ is odd, strictly increasing and bounded, |w| &lt; a·π/2, which restricts the weights'
/// magnitude, and its slope ∂φ/∂v = (a/b)/(1 + v²/b²) is largest at 0, so ∂L/∂v = ∂L/∂w·∂φ/∂v moves weights near zero more than
/// large ones: a compressor for large weights and an expander for small ones. v starts at φ⁻¹(w) = b·tan(w/a), so the model
/// starts from its own weights (the paper's initialization). Weight matrices and kernels only; biases and normalization
/// layers are left as they are, as in the paper. Penalties of other terms act on w and reach v by the chain rule (the paper
/// applies weight decay to w); the model's optimizer's own weight decay acts on v.
/// <para>
/// With <c>rescaleStep</c>, the paper's remedy for adaptive optimizers (after Powerpropagation): the optimizer computes its
/// step from the raw gradient ∂L/∂w, and that step is multiplied by ∂φ/∂v. Ours: the strength λ ∈ [0, 1] blends with the identity,
/// w = (1 − λ)·v + λ·φ(v) (1, the default, is the paper's compander; 0 the plain layer), so that a strength that decays in
/// the pruning loop stays meaningful (for λ &lt; 1, φ⁻¹ is found by Newton's method); w beyond the bound a·π/2 (a model
/// trained without the compander) is taken as just inside it. The paper's learnable a and b are not provided. The mechanics
/// (w in the model, v kept here and in checkpoints, the first step of a tensor plain) are <see cref="WeightReparameterization"/>'s, as
/// for <see cref="WeightConditioning"/>. Anti-sparsity by design: it pushes small weights away from zero, though pruned zeros
/// stay zero (φ(0) = 0).
/// </para>
/// </summary>
public sealed class WeightCompander : WeightReparameterization
{
    /// <summary>Creates the regularizer.</summary>
    /// <param name="scale">a, the bound's scale: |w| &lt; a·π/2.</param>
    /// <param name="stretch">b, the stretch along v: the slope at 0 is a/b.</param>
    /// <param name="rescaleStep">Whether the optimizer steps on ∂L/∂w and its step is multiplied by ∂φ/∂v (for adaptive optimizers).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> or <paramref name="stretch"/> is not a positive finite number.</exception>
    public WeightCompander(double scale = 1.0, double stretch = 0.6, bool rescaleStep = false)
        : base(new Map(Positive(scale, nameof(scale), "a"), Positive(stretch, nameof(stretch), "b")), rescaleStep)
    {
        Scale = scale;
        Stretch = stretch;
        RescaleStep = rescaleStep;
    }

    /// <summary>a, the bound's scale: |w| &lt; a·π/2.</summary>
    public double Scale { get; }

    /// <summary>b, the stretch along v.</summary>
    public double Stretch { get; }

    /// <summary>Whether the optimizer steps on ∂L/∂w and its step is multiplied by ∂φ/∂v.</summary>
    public bool RescaleStep { get; }

    /// <inheritdoc />
    public override string Name => "compander";

    /// <summary>w = (1 − λ)·v + λ·a·arctan(v/b) for λ = <paramref name="strength"/>, elementwise and differentiable in <paramref name="latent"/> v.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public static Tensor Companded(Tensor latent, double scale, double stretch, double strength)
    {
        ArgumentNullException.ThrowIfNull(latent);
        CheckShare(strength);
        if (strength == 0) return latent.alias();
        var companded = latent.div(HeldScalar.Of(stretch)).atan().mul(HeldScalar.Of(scale));
        return strength == 1 ? companded : latent.mul(HeldScalar.Of(1 - strength)).add(companded.mul(HeldScalar.Of(strength)));
    }

    private static double Positive(double value, string name, string symbol) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{symbol} must be a positive number, got {value}");

    private sealed class Map(double scale, double stretch) : IWeightMap
    {
        // Just inside the bound: tan is finite there, and w = ±a·π/2 itself has no preimage.
        private const double InsideBound = 1 - 1e-6;
        private const int NewtonSteps = 60;

        public Tensor Forward(Tensor latent, double strength) => Companded(latent, scale, stretch, strength);

        public Tensor Inverse(Tensor weight, double strength)
        {
            var target = weight.to(ScalarType.Float64);
            if (strength == 0) return weight.clone();
            if (strength == 1)
            {
                var limit = Math.PI / 2 * InsideBound;
                return target.div(HeldScalar.Of(scale)).clamp(HeldScalar.Of(-limit), HeldScalar.Of(limit)).tan().mul(HeldScalar.Of(stretch)).to(weight.dtype);
            }
            // φ_λ is odd, increasing with slope ≥ 1 − λ, concave for v > 0: Newton's method from v = w converges.
            var v = target.clone();
            for (var i = 0; i < NewtonSteps; i++)
            {
                var residual = Companded(v, scale, stretch, strength).sub(target);
                var ratio = v.div(HeldScalar.Of(stretch));
                var slope = ratio.square().add(HeldScalar.Of(1.0)).reciprocal().mul(HeldScalar.Of(strength * scale / stretch)).add(HeldScalar.Of(1 - strength));
                v = v.sub(residual.div(slope));
            }
            return v.to(weight.dtype);
        }
    }
}
