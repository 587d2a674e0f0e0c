using Topiary.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// ARoW of Yang, Kong, Kim, "Improving Adversarial Robustness by Putting More Regularizations on Less Robust Samples"
/// (ICML 2023, seed paper #21): TRADES' robust term KL(p(x) ‖ p(x̂)) weighted per example by 1 − p_y(x̂), so that the
/// examples the attack already fools (a small p_y at x̂) are regularized more, plus label smoothing on the clean input.
/// x̂ is found by K steps of projected sign-gradient ascent on KL(p(x) ‖ p(x̂)) in the ℓ∞ ball of radius ε (as TRADES),
/// step 2.5ε/K, from x plus small Gaussian noise; then
/// R = λ·(1/B)Σ_i (1 − p_y(x̂_i))·KL(p(x_i) ‖ p(x̂_i)) + s·(1/B)Σ_i (CE(f(x_i), u) − CE(f(x_i), y_i)),
/// u the uniform distribution over the classes. The second part turns the training loop's cross-entropy into the
/// cross-entropy with the smoothed target (1 − s)·onehot(y) + s·u exactly, since cross-entropy is linear in the target;
/// it is not scaled by λ.
/// <para>
/// As in the authors' published loss, the weight 1 − p_y(x̂) is not detached: its gradient reaches the weights too, and
/// both p(x) and p(x̂) carry gradient, while x̂ itself is a constant. Gradients go to the weights, never to the input.
/// The attack's starting noise comes from the regularizer's own CPU generator (seeded with <see cref="Seed"/>), saved in
/// checkpoints. Targets must be one class index per example and the outputs logits (B, classes).
/// </para>
/// <para>
/// Adapted: ε is in the units of the model's standardized inputs (default 8/255 of the pixel range on Fashion-MNIST,
/// as <see cref="LocalLinearityRegularizer.DefaultRadius"/>), x̂ is not clipped to the image range (unknown here), the
/// starting noise's deviation is 0.001 of the pixel range scaled like ε (0.001·255/8·ε), the model is attacked in the mode
/// it is in (the paper switches to evaluation mode), log p(x̂) is a log-softmax rather than log(p + 10⁻¹²), and the paper's
/// 10 attack steps default to 3 here for cost. λ is the authors' code's λ, which their README gives as the paper's 2λ (the CLI's default 7 = the paper's 3.5).
/// </para>
/// </summary>
public sealed class RobustnessWeightedAdversarialRegularizer : GradientRegularizer
{
    /// <summary>The attack steps by default; the paper uses 10.</summary>
    public const int DefaultSteps = 3;

    /// <summary>The label smoothing s by default, the authors' setting for CIFAR-10 (0.2).</summary>
    public const double DefaultSmoothing = 0.2;

    // 0.001 of the [0, 1] pixel range against the paper's ε = 8/255.
    private const double StartNoisePerRadius = 0.001 * 255 / 8;

    private Generator generator;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="radius">ε, the ℓ∞ radius of the attack, in the inputs' units.</param>
    /// <param name="steps">K, the attack's steps.</param>
    /// <param name="smoothing">s ∈ [0, 1), the label smoothing of the clean cross-entropy; 0: none.</param>
    /// <param name="seed">The seed of the attack's starting noise.</param>
    /// <exception cref="ArgumentOutOfRangeException">ε is not positive and finite, K &lt; 1, or s outside [0, 1).</exception>
    public RobustnessWeightedAdversarialRegularizer(double radius = LocalLinearityRegularizer.DefaultRadius, int steps = DefaultSteps,
        double smoothing = DefaultSmoothing, ulong seed = 0)
    {
        if (!(radius > 0 && double.IsFinite(radius)))
            throw new ArgumentOutOfRangeException(nameof(radius), radius, $"the radius ε must be a positive number, got {radius}");
        if (steps < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"the attack needs at least one step, got {steps}");
        if (!(smoothing >= 0 && smoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, $"the smoothing must be in [0, 1), got {smoothing}");
        Radius = radius;
        Steps = steps;
        Smoothing = smoothing;
        Seed = seed;
        generator = new Generator(seed);
    }

    /// <summary>ε, the ℓ∞ radius of the attack, in the inputs' units.</summary>
    public double Radius { get; }

    /// <summary>K, the attack's steps.</summary>
    public int Steps { get; }

    /// <summary>s, the label smoothing of the clean cross-entropy.</summary>
    public double Smoothing { get; }

    /// <summary>The seed of the attack's starting noise.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public override string Name => "arow";

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0 && Smoothing == 0) return null;
        var inputs = context.Inputs;
        if (!inputs.is_floating_point())
            throw new InvalidOperationException($"regularizer '{Name}' perturbs the inputs, which must be real-valued; got {inputs.dtype} (token indices cannot be perturbed)");
        var outputs = context.Outputs;
        ClassTargets.Require(outputs, context.Targets, Name);
        var penalty = SmoothingPenalty(outputs, context.Targets, Smoothing);
        if (strength == 0) return penalty;
        var adversarial = Attack(context.Model, inputs, outputs);
        var adversarialOutputs = context.Model.forward(adversarial);
        var robust = WeightedDivergence(outputs, adversarialOutputs, Weights(adversarialOutputs, context.Targets));
        return robust.mul(HeldScalar.Of(strength)).add(penalty);
    }

    /// <summary>1 − p_y(x̂), the weight of each example (B), from the logits at x̂; not detached.</summary>
    /// <param name="adversarialLogits">f(x̂), (B, classes).</param>
    /// <param name="targets">y, one class index per example.</param>
    public static Tensor Weights(Tensor adversarialLogits, Tensor targets) =>
        nn.functional.softmax(adversarialLogits, 1).gather(1, targets.unsqueeze(1)).squeeze(1).neg().add(HeldScalar.Of(1.0));

    /// <summary>KL(p(x_i) ‖ p(x̂_i)) per example (B), p the softmax of the logits.</summary>
    /// <param name="cleanLogits">f(x), (B, classes).</param>
    /// <param name="adversarialLogits">f(x̂), shaped as f(x).</param>
    public static Tensor Divergences(Tensor cleanLogits, Tensor adversarialLogits)
    {
        var clean = nn.functional.log_softmax(cleanLogits, 1);
        return clean.exp().mul(clean.sub(nn.functional.log_softmax(adversarialLogits, 1))).sum(1);
    }

    /// <summary>(1/B)Σ_i w_i·KL(p(x_i) ‖ p(x̂_i)); with every w_i = 1, TRADES' robust term.</summary>
    /// <param name="cleanLogits">f(x), (B, classes).</param>
    /// <param name="adversarialLogits">f(x̂), shaped as f(x).</param>
    /// <param name="weights">w (B).</param>
    public static Tensor WeightedDivergence(Tensor cleanLogits, Tensor adversarialLogits, Tensor weights) =>
        weights.mul(Divergences(cleanLogits, adversarialLogits)).mean();

    /// <summary>
    /// s·(1/B)Σ_i (CE(f(x_i), u) − CE(f(x_i), y_i)), u uniform: added to the mean cross-entropy it gives the mean
    /// cross-entropy with the smoothed target (1 − s)·onehot(y) + s·u.
    /// </summary>
    /// <param name="logits">f(x), (B, classes).</param>
    /// <param name="targets">y, one class index per example.</param>
    /// <param name="smoothing">s.</param>
    public static Tensor SmoothingPenalty(Tensor logits, Tensor targets, double smoothing)
    {
        var logProbabilities = nn.functional.log_softmax(logits, 1);
        var uniform = logProbabilities.mean(new long[] { 1 }).neg();
        var labelled = logProbabilities.gather(1, targets.unsqueeze(1)).squeeze(1).neg();
        return uniform.sub(labelled).mean().mul(HeldScalar.Of(smoothing));
    }

    /// <summary>The generator's state, so that a resumed run draws the same starting noise.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        GeneratorState.SaveOnly(generator);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        GeneratorState.Replace(ref generator, GeneratorState.RestoreOnly(state, Seed));
    }

    /// <summary>Acts on the loss in input space, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>
    /// x̂ (detached): K steps x̂ ← Π_ε(x̂ + (2.5ε/K)·sign ∇_x̂ Σ_i KL(p(x_i) ‖ p(x̂_i))) from x plus noise, with p(x) held.
    /// </summary>
    internal Tensor Attack(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor cleanLogits)
    {
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();
        var x = inputs.detach();
        var clean = cleanLogits.detach();
        var noise = randn(x.shape, dtype: x.dtype, generator: generator).mul(HeldScalar.Of(StartNoisePerRadius * Radius)).to(x.device);
        var adversarial = Project(x.add(noise), x);
        var stepSize = 2.5 * Radius / Steps;
        for (var k = 0; k < Steps; k++)
        {
            adversarial.requires_grad_(true);
            var divergence = Divergences(clean, model.forward(adversarial)).sum();
            var gradient = torch.autograd.grad(new[] { divergence }, new[] { adversarial })[0];
            adversarial = Project(adversarial.detach().add(gradient.sign().mul(HeldScalar.Of(stepSize))), x);
        }
        return adversarial.detach().MoveToOuterDisposeScope();
    }

    private Tensor Project(Tensor point, Tensor center) =>
        minimum(maximum(point, center.sub(HeldScalar.Of(Radius))), center.add(HeldScalar.Of(Radius)));
}
