using Topiary.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Jacobian nuclear norm regularization of Scarvelis, Solomon, "Nuclear Norm Regularization for Deep Learning" (ICLR 2025,
/// seed paper #2). For f = g∘h, ½(‖J_g(h(x))‖²_F + ‖J_h(x)‖²_F) bounds ‖J_f(x)‖_* from above (with equality at the best
/// factorization), and the denoising estimate ‖J_h(x)‖²_F ≈ E_ε‖h(x + σε) − h(x)‖²/σ², ε ~ N(0, I), needs no Jacobian.
/// Here h maps the input to the penultimate representation (the input of the classifier's last linear layer) and g is that
/// layer, whose Jacobian is its weight W, so its term is exact: R = λ·½·(‖W‖²_F + (1/(B·S))Σ_i Σ_s ‖h(x_i + σε_is) − h(x_i)‖²/σ²)
/// with S = <see cref="Samples"/> noise draws per example. Adapted: the paper estimates both terms by denoising and splits
/// generic networks; for a classifier's linear head the exact ‖W‖²_F is cheaper and has no variance. Costs one extra
/// forward pass on the S·B noisy inputs (a batch-norm layer in training mode sees them as one batch) and its backward pass.
/// The noise comes from the regularizer's own CPU generator (seeded with <see cref="Seed"/>), saved in checkpoints.
/// </summary>
public sealed class JacobianNuclearNormRegularizer : GradientRegularizer
{
    private Generator generator;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="sigma">σ, the standard deviation of the input noise, in the inputs' units.</param>
    /// <param name="samples">S, noise draws per example.</param>
    /// <param name="seed">The seed of the noise.</param>
    /// <exception cref="ArgumentOutOfRangeException">σ is not a positive number or S is below 1.</exception>
    public JacobianNuclearNormRegularizer(double sigma = 0.1, int samples = 1, ulong seed = 0)
    {
        if (!(sigma > 0 && double.IsFinite(sigma))) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"sigma must be a number > 0, got {sigma}");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples must be at least 1, got {samples}");
        Sigma = sigma;
        Samples = samples;
        Seed = seed;
        generator = new Generator(seed);
    }

    /// <summary>σ.</summary>
    public double Sigma { get; }

    /// <summary>S.</summary>
    public int Samples { get; }

    /// <summary>The seed of the noise.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public override string Name => "jacnuc";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        var inputs = context.Inputs;
        if (!inputs.is_floating_point())
            throw new InvalidOperationException($"regularizer '{Name}' perturbs the inputs, which must be real-valued; got {inputs.dtype}");
        var features = PenultimateRepresentation.Of(context, Name);
        var head = ClassifierHead.Layer(context.Model, Name);
        Tensor? captured = null;
        var hook = head.register_forward_pre_hook((_, input) =>
        {
            // The model's forward may free its temporaries; the alias outlives it until the estimate is built.
            captured = input.alias().DetachFromDisposeScope();
            return input;
        });
        Tensor inner;
        try
        {
            var noise = randn(Noisy(inputs.shape), dtype: inputs.dtype, generator: generator).to(inputs.device);
            inner = DenoisedSquaredFrobenius(x =>
            {
                context.Model.forward(x);
                return captured ?? throw new InvalidOperationException($"regularizer '{Name}': the last linear layer did not run");
            }, inputs, features, noise, Sigma);
        }
        finally
        {
            hook.remove();
            captured?.Dispose();
        }
        var headTerm = head.weight!.square().sum();
        return headTerm.add(inner).mul(HeldScalar.Of(0.5 * strength));
    }

    /// <summary>
    /// The denoising estimate (1/N)Σ_n ‖map(x_n + σε_n) − h_n‖²/σ² of the mean ‖J_map‖²_F over the batch, where the S·B rows of
    /// <paramref name="noise"/> (shaped like the inputs, S copies of the batch one after the other) are standard normal and
    /// <paramref name="features"/> = map(x) (B, …); differentiable through both.
    /// </summary>
    public static Tensor DenoisedSquaredFrobenius(Func<Tensor, Tensor> map, Tensor inputs, Tensor features, Tensor noise, double sigma)
    {
        var copies = noise.shape[0] / inputs.shape[0];
        var repeats = Enumerable.Repeat(1L, (int)inputs.dim()).ToArray();
        repeats[0] = copies;
        var perturbed = map(inputs.repeat(repeats).add(noise.mul(HeldScalar.Of(sigma)))).flatten(1);
        var clean = features.flatten(1).repeat(copies, 1);
        return perturbed.sub(clean).square().sum(1).mean().div(HeldScalar.Of(sigma * sigma));
    }

    private long[] Noisy(long[] shape)
    {
        var noisy = shape.ToArray();
        noisy[0] *= Samples;
        return noisy;
    }

    /// <summary>Acts on the features and the head together: zero per tensor.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        GeneratorState.SaveOnly(generator);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        GeneratorState.Replace(ref generator, GeneratorState.RestoreOnly(state, Seed));
}
