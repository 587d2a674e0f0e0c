using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Weight conditioning, from Saratchandran, Wang, Lucey, "Weight Conditioning for Smooth Optimization of Neural Networks"
/// (ECCV 2024, seed paper #114): each weight matrix W (a kernel seen as out × in·k·k) stays the trained parameter, and the
/// layer computes with the better-conditioned W' = D·W, D = diag(1/‖W_i:‖₂), the row equilibration that is optimal among
/// diagonal (left) preconditioners up to a factor √m by Van der Sluis' theorem, so σ_max(W')/σ_min(W') narrows while W
/// trains freely. <see cref="Equilibration.Columns"/> (W' = W·diag(1/‖W_:j‖₂)) and <see cref="Equilibration.RowsThenColumns"/>
/// are the other forms. The strength λ ∈ [0, 1] blends: W' = (1 − λ)·W + λ·cond(W); 1 (the default) is the paper's layer,
/// 0 the plain one. The gradient reaches W by the chain rule through W' (by autograd on the small map W ↦ W').
/// <para>
/// Our adaptation to a user's model, whose layers cannot be rewritten (<see cref="WeightReparameterization"/>, shared with
/// <see cref="WeightCompander"/>): the parameter holds W' whenever the model is run (forward pass, evaluation, saving,
/// pruning), the regularizer keeps W per tensor and in checkpoints, and the model's optimizer (with its momentum and weight
/// decay) steps W as the paper's optimizer does; the first step of a tensor is a plain one. D and E are diagonal, so pruned
/// zeros stay zero in W and W'; a zero row or column keeps scale 1. Weights written from outside between steps (a rewind, a
/// loaded model) become the new W. The paper's own text could not be read here (its abstract and summaries only): the
/// equilibration form follows a secondary account of its method (see docs/regularizers.md).
/// </para>
/// </summary>
public sealed class WeightConditioning : WeightReparameterization
{
    /// <summary>Creates the regularizer.</summary>
    /// <param name="mode">Which diagonal scaling conditions the weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">An unknown <paramref name="mode"/>.</exception>
    public WeightConditioning(Equilibration mode = Equilibration.Rows)
        : base(new Map(Enum.IsDefined(mode) ? mode : throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown equilibration")))
    {
        Mode = mode;
    }

    /// <summary>Which diagonal scaling conditions the weights.</summary>
    public Equilibration Mode { get; }

    /// <inheritdoc />
    public override string Name => "wcond";

    /// <summary>
    /// W' = (1 − <paramref name="strength"/>)·W + strength·cond(W) for <paramref name="weight"/> W, differentiable in W (zero rows
    /// or columns are scaled by 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1].</exception>
    public static Tensor Conditioned(Tensor weight, Equilibration mode, double strength)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CheckShare(strength);
        if (strength == 0) return weight.alias();
        var matrix = WeightMatrix.Rows(weight);
        var scaled = mode switch
        {
            Equilibration.Rows => ScaleToUnitNorm(matrix, 1),
            Equilibration.Columns => ScaleToUnitNorm(matrix, 0),
            Equilibration.RowsThenColumns => ScaleToUnitNorm(ScaleToUnitNorm(matrix, 1), 0),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown equilibration"),
        };
        if (strength < 1) scaled = matrix.mul(HeldScalar.Of(1 - strength)).add(scaled.mul(HeldScalar.Of(strength)));
        return scaled.reshape(weight.shape);
    }

    // Divides each slice along `dim` (1: rows, 0: columns) by its Euclidean norm; a zero slice keeps scale 1, where the
    // square root's unbounded derivative would otherwise reach the gradient.
    private static Tensor ScaleToUnitNorm(Tensor matrix, long dim)
    {
        var squares = matrix.square().sum(dim, keepdim: true);
        var safe = where(squares.gt(HeldScalar.Of(0.0)), squares, ones_like(squares));
        return matrix.div(safe.sqrt());
    }

    // An equilibrated W' is its own preimage (exactly for one-sided scalings at λ = 1), so written values become W as they are.
    private sealed class Map(Equilibration mode) : IWeightMap
    {
        public Tensor Forward(Tensor latent, double strength) => Conditioned(latent, mode, strength);

        public Tensor Inverse(Tensor weight, double strength) => weight.clone();
    }
}
