using Topiary.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// ELLE, the efficient local-linearity regularizer of Abad Rocamora, Liu, Chen, Huang, Cevher, "Efficient local linearity
/// regularization to overcome catastrophic overfitting" (ICLR 2024, seed paper #52): the loss should be close to linear
/// in the input around each example, which it measures without double backpropagation by comparing the loss at a random
/// convex combination of two random points with the same combination of their losses. Per example x, draw x_a, x_b
/// uniformly in the ℓ∞ ball of radius ε (<see cref="Radius"/>) around x and α ~ U[0, 1], let x_c = αx_a + (1 − α)x_b, and
/// R = λ·(1/B)Σ_i (ℓ(x_c) − αℓ(x_a) − (1 − α)ℓ(x_b))² with the per-example loss ℓ. It is 0 when ℓ is affine in the input;
/// for a quadratic ℓ with Hessian H the bracket is −α(1 − α)(x_a − x_b)ᵀH(x_a − x_b)/2, so R penalizes curvature.
/// <para>
/// Costs one forward pass on the 3B perturbed inputs (concatenated into one batch; a batch-norm layer in training mode
/// sees them as one batch) and its backward pass; gradients go to the weights through the three losses, never through
/// the input. The noise comes from the regularizer's own CPU generator (seeded with <see cref="Seed"/>, drawn as x_a's
/// offsets, x_b's, then α, in the inputs' dtype), saved in checkpoints. The per-example loss is cross-entropy on logits
/// with one class index per example unless another is given; other targets are refused.
/// </para>
/// <para>
/// Adapted: the paper adds R to single-step (FGSM) adversarial training, against catastrophic overfitting; Topiary adds
/// it to ordinary training, as a penalty on the curvature of the loss in input space. ε is in the units of the model's
/// inputs: Topiary's images are standardized, so the paper's 8/255 of the [0, 1] pixel range is 8/255/σ (0.0889 for
/// Fashion-MNIST's σ ≈ 0.353, the default). The paper clips x_a, x_b to the image range; the inputs' range is not known
/// here, so they are not clipped. The adaptive ELLE-A (λ raised when the error jumps) is not implemented.
/// </para>
/// </summary>
public sealed class LocalLinearityRegularizer : GradientRegularizer
{
    /// <summary>8/255 of the [0, 1] pixel range in the units of Fashion-MNIST standardized by its pixel deviation σ ≈ 0.353.</summary>
    public const double DefaultRadius = 0.0889;


    private readonly Func<Tensor, Tensor, Tensor> perExampleLoss;
    private Generator generator;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="radius">ε, the ℓ∞ radius around each input, in the inputs' units.</param>
    /// <param name="seed">The seed of the generator of x_a, x_b and α.</param>
    /// <param name="perExampleLoss">
    /// The loss of each example, (outputs, targets) → (B); null: cross-entropy on logits with class-index targets.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">ε is not a positive finite number.</exception>
    public LocalLinearityRegularizer(double radius = DefaultRadius, ulong seed = 0, Func<Tensor, Tensor, Tensor>? perExampleLoss = null)
    {
        if (!(radius > 0 && double.IsFinite(radius)))
            throw new ArgumentOutOfRangeException(nameof(radius), radius, $"the radius ε must be a positive number, got {radius}");
        Radius = radius;
        Seed = seed;
        this.perExampleLoss = perExampleLoss ?? CrossEntropyPerExample;
        generator = new Generator(seed);
    }

    /// <summary>ε, the ℓ∞ radius of the ball the points are drawn from, in the inputs' units.</summary>
    public double Radius { get; }

    /// <summary>The seed of the generator of x_a, x_b and α.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public override string Name => "elle";

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var inputs = context.Inputs;
        if (!inputs.is_floating_point())
            throw new InvalidOperationException($"regularizer '{Name}' perturbs the inputs, which must be real-valued; got {inputs.dtype} (token indices cannot be perturbed)");
        var (a, b, alpha) = Sample(inputs);
        var targets = context.Targets;
        var errors = Errors(x => perExampleLoss(context.Model.forward(x), cat(new[] { targets, targets, targets })), a, b, alpha);
        return errors.square().mean().mul(HeldScalar.Of(strength));
    }

    /// <summary>
    /// The local-linearity errors ℓ(x_c) − αℓ(x_a) − (1 − α)ℓ(x_b), x_c = αx_a + (1 − α)x_b, one per example (B), with
    /// <paramref name="loss"/> mapping 3B stacked inputs (x_a, x_b, x_c) to their 3B losses.
    /// </summary>
    /// <param name="loss">Per-example losses of a batch of inputs.</param>
    /// <param name="pointsA">x_a (B, ...).</param>
    /// <param name="pointsB">x_b, shaped as x_a.</param>
    /// <param name="alpha">α (B).</param>
    public static Tensor Errors(Func<Tensor, Tensor> loss, Tensor pointsA, Tensor pointsB, Tensor alpha)
    {
        var weight = alpha.reshape(Broadcast(alpha.shape[0], pointsA.dim()));
        var pointsC = weight.mul(pointsA).add(weight.neg().add(HeldScalar.Of(1.0)).mul(pointsB));
        var losses = loss(cat(new[] { pointsA, pointsB, pointsC })).reshape(3, -1);
        return losses[2].sub(alpha.mul(losses[0])).sub(alpha.neg().add(HeldScalar.Of(1.0)).mul(losses[1]));
    }

    /// <summary>The generator's state, so that a resumed run draws the same points.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        GeneratorState.SaveOnly(generator);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        GeneratorState.Replace(ref generator, GeneratorState.RestoreOnly(state, Seed));
    }

    /// <summary>Acts on the loss in input space, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>x_a, x_b uniform in the ℓ∞ ball of radius ε around each input, and α ~ U[0, 1] per example, from the generator.</summary>
    internal (Tensor A, Tensor B, Tensor Alpha) Sample(Tensor inputs)
    {
        using var _ = no_grad();
        var x = inputs.detach();
        Tensor Offset() => rand(x.shape, dtype: x.dtype, generator: generator).mul(HeldScalar.Of(2 * Radius)).sub(HeldScalar.Of(Radius)).to(x.device);
        var a = x.add(Offset());
        var b = x.add(Offset());
        var alpha = rand(x.shape[0], dtype: x.dtype, generator: generator).to(x.device);
        return (a, b, alpha);
    }

    private Tensor CrossEntropyPerExample(Tensor outputs, Tensor targets)
    {
        ClassTargets.Require(targets, outputs.shape[0], Name);
        if (outputs.dim() != 2)
            throw new InvalidOperationException($"regularizer '{Name}' computes cross-entropy per example from logits (B, classes); got outputs of shape [{string.Join(", ", outputs.shape)}]");
        return nn.functional.cross_entropy(outputs, targets, reduction: nn.Reduction.None);
    }

    private static long[] Broadcast(long batch, long rank)
    {
        var shape = Enumerable.Repeat(1L, (int)rank).ToArray();
        shape[0] = batch;
        return shape;
    }
}
