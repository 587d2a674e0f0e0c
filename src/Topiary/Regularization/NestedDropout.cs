using TorchSharp;
using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Nested dropout on the penultimate representation, the ordered-feature compression of Chen et al., "Compressing Features
/// for Learning with Noisy Labels" (IEEE TNNLS 2022, seed paper #68; nested dropout is Rippel, Gelbart, Adams, ICML 2014).
/// For every example of a training step it draws b ~ Geometric(p) on {0, 1, 2, …} and zeroes the features of index j &gt; b
/// of the representation h that the last linear layer reads: h̃_ij = h_ij·[j ≤ b_i], so feature j survives with probability
/// P(b ≥ j) = (1 − p)^j and the first features learn to carry the most information. The strength is p ∈ [0, 1]: 0 is plain
/// training, 1 keeps only the first feature. No rescaling, as in nested dropout. The paper also trains with Co-teaching,
/// which is not part of this regularizer.
/// <para>
/// Adapted: a loss penalty cannot change activations, so the mask is applied by a forward pre-hook on the model's last linear
/// layer (<see cref="ClassifierHead"/>) that exists only while <see cref="ComputeGradients"/> runs the step's forward and
/// backward pass: <see cref="BeforeForward"/> installs it, and it is removed when the pass returns, so validation and
/// evaluation see the whole representation. Because p arrives with the step (the strength), it takes over the backward pass
/// (a plain one) and cannot be combined with another term that does (SAM, AMP, F-GR, QAT, ELBo, mixout). b is drawn as
/// b = max{j : u &lt; (1 − p)^j}, u ~ U(0, 1), from the regularizer's own CPU generator (seeded with <see cref="Seed"/>),
/// saved in checkpoints.
/// </para>
/// </summary>
public sealed class NestedDropout : GradientRegularizer
{
    private Generator generator;
    private double? stepProbability;
    private Action? removeHook;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="seed">The seed of the truncation indices b.</param>
    public NestedDropout(ulong seed = 0)
    {
        Seed = seed;
        generator = new Generator(seed);
    }

    /// <summary>The seed of the truncation indices b.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public override string Name => "nested";

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <summary>
    /// The 0/1 mask (examples, features) with row i = [j ≤ b_i], b_i ~ Geometric(<paramref name="probability"/>) on {0, 1, …},
    /// drawn from <paramref name="generator"/>: a prefix of each row, column j kept with probability (1 − p)^j.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    public static Tensor PrefixMask(long examples, long features, double probability, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        CheckProbability(probability);
        using var scope = NewDisposeScope();
        var u = rand(examples, 1, dtype: float64, generator: generator);
        var survival = pow(1 - probability, arange(HeldScalar.Of(features), dtype: float64)).unsqueeze(0);
        return u.lt(survival).to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> (p) is outside [0, 1].</exception>
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        ArgumentNullException.ThrowIfNull(objective);
        CheckProbability(strength);
        stepProbability = strength;
        try
        {
            return objective.Backward();
        }
        finally
        {
            stepProbability = null;
            RemoveHook();
        }
    }

    /// <summary>During a training step (<see cref="ComputeGradients"/>), installs the mask on the input of <paramref name="model"/>'s last linear layer.</summary>
    /// <exception cref="InvalidOperationException">The model's last linear/convolution layer is not linear.</exception>
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        RemoveHook();
        if (stepProbability is not { } p || p == 0) return;
        var head = ClassifierHead.Layer(model, Name);
        var handle = head.register_forward_pre_hook((_, input) => Masked(input, p));
        removeHook = handle.remove;
    }

    private Tensor Masked(Tensor input, double probability)
    {
        var mask = PrefixMask(input.shape[0], input.shape[^1], probability, generator, input.dtype).to(input.device);
        var shape = Enumerable.Repeat(1L, (int)input.dim()).ToArray();
        shape[0] = input.shape[0];
        shape[^1] = input.shape[^1];
        return input.mul(mask.reshape(shape));
    }

    private void RemoveHook()
    {
        removeHook?.Invoke();
        removeHook = null;
    }

    private static void CheckProbability(double probability)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, $"the nested-dropout probability p must be in [0, 1], got {probability}");
    }

    /// <summary>Acts through the forward pass only: zero per tensor.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        GeneratorState.SaveOnly(generator);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        GeneratorState.Replace(ref generator, GeneratorState.RestoreOnly(state, Seed));
}
