using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Quasi-Givens orthogonal fine-tuning (qGOFT) of Ma, Chu, Yang, Lin, Gao, Zhao, "Parameter Efficient Quasi-Orthogonal
/// Fine-Tuning via Givens Rotation" (ICML 2024, seed paper #50), a fine-tuning regularizer. The pretrained weight W₀ (the
/// one the first step sees; out × in, a kernel as out × in·k·k) is trained only through a transform of its input space,
/// <c>W = W₀·R</c>, R = G₁G₂⋯G_L, each G_l the identity except for free 2 × 2 blocks g_k on disjoint coordinate pairs
/// (initialized to I, so W = W₀ at the start), under the soft orthogonality penalty <c>γ·Σ_k‖g_kᵀg_k − I‖²_F</c>, γ the
/// strength. When every block is orthogonal (a Givens rotation, or a reflection), R is orthogonal: each neuron (row of W,
/// a column in the paper's d × n layout where the paper writes W = R·W₀) is rotated alike, so norms and the angles between
/// neurons are kept; the free blocks ("quasi"-Givens) also let norms and relative angles move, as much as γ allows.
/// <para>
/// The pairs follow the authors' parallel scheme (released code, peft-givens): d − 1 blocks for d inputs in ⌈log₂ d⌉
/// stages, a binary tree: stage l (s = 2^(l−1)) pairs coordinate 2s·k with 2s·k + s for every k with 2s·k + s &lt; d, over
/// the coordinates that are multiples of s; so 4(d − 1) trained numbers per layer (one block per Givens rotation of the
/// paper's O(d) construction, which maps any vector to any other of the same norm). Each block acts on its own pair
/// (as we read the released code, its sine terms pair neighbouring coordinates in the later stages; we do not copy that).
/// The paper's layers are linear ones; kernels reshaped to out × in·k·k, which rotates input patches, are our extension.
/// </para>
/// <para>
/// It runs inside the training step as <see cref="SorsaFineTuning"/> does: the blocks and their Adam (learning rate
/// <see cref="LearningRate"/>) belong to the regularizer; <see cref="AddGradient"/> records W₀ on first sight;
/// <see cref="Project"/>, after the model's optimizer step, carries W's masked gradient G to the blocks by the chain rule
/// (∂/∂R = W₀ᵀG, back through the stages), steps them and writes W₀·R back, replacing the optimizer's step on W; the loop
/// then zeroes pruned entries. Biases are left to the model's optimizer.
/// </para>
/// </summary>
public sealed class QuasiGivensFineTuning : GradientRegularizer
{
    private readonly FactorizedFineTuning training;

    /// <summary>Creates the regularizer.</summary>
    /// <param name="learningRate">The learning rate of the blocks' Adam.</param>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is not a positive finite number.</exception>
    public QuasiGivensFineTuning(double learningRate = 1e-3)
    {
        if (!(learningRate > 0 && double.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"lr must be a positive number, got {learningRate}");
        training = new FactorizedFineTuning(new Factorization(), learningRate, "qgoft");
    }

    /// <summary>The learning rate of the blocks' Adam.</summary>
    public double LearningRate => training.LearningRate;

    /// <inheritdoc />
    public override string Name => "qgoft";

    /// <summary>Weight matrices and kernels with at least two inputs per output (a single input has no pair to rotate).</summary>
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter) && parameter.numel() / parameter.shape[0] >= 2;

    /// <summary>Records the pretrained weight on first sight; the blocks move in <see cref="Project"/>.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength) => training.Remember(weight);

    /// <summary>Steps the blocks on the gradient of W and writes W = W₀·R.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize) => training.Step(weight, grad, strength);

    /// <summary>γ·Σ_k‖g_kᵀg_k − I‖² of the current blocks (0 before the first step); constant in W.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => training.Penalty(weight, strength);

    /// <summary>A copy of the d − 1 blocks of <paramref name="parameter"/> ((d − 1) × 2 × 2, in stage order), or null before its first step.</summary>
    public Tensor? Blocks(Tensor parameter) => training.Factors(parameter)?.reshape(-1, 2, 2);

    /// <summary>The residuals, blocks, their Adam moments and step counts, by parameter name.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        training.SaveState(parameters);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        training.LoadState(parameters, state);

    internal FactorizedFineTuning Training => training;

    /// <summary>matrix·R for the (d − 1) × 2 × 2 <paramref name="blocks"/> of a d-column matrix; differentiable in both.</summary>
    internal static Tensor Rotate(Tensor matrix, Tensor blocks)
    {
        var offset = 0L;
        foreach (var (step, count) in GivensTree.Stages(matrix.shape[1]))
        {
            var first = arange(HeldScalar.Of(0L), HeldScalar.Of(2 * step * count), HeldScalar.Of(2 * step), dtype: ScalarType.Int64, device: matrix.device);
            var second = first.add(HeldScalar.Of(step));
            var g = blocks.narrow(0, offset, count);
            var a = matrix.index_select(1, first);
            var b = matrix.index_select(1, second);
            // [x_i, x_j] ← [x_i, x_j]·g on every pair of the stage.
            var newA = a.mul(Entry(g, 0, 0)).add(b.mul(Entry(g, 1, 0)));
            var newB = a.mul(Entry(g, 0, 1)).add(b.mul(Entry(g, 1, 1)));
            matrix = matrix.index_copy(1, first, newA).index_copy(1, second, newB);
            offset += count;
        }
        return matrix;
    }

    private static Tensor Entry(Tensor blocks, int row, int col) => blocks.select(1, row).select(1, col);

    // θ = the blocks, flattened; frozen = W₀.
    private sealed class Factorization : IWeightFactorization
    {
        public long FactorCount(long rows, long cols) => 4 * (cols - 1);

        public (Tensor Frozen, Tensor Factors) Initialize(Tensor matrix)
        {
            var identity = eye(2, dtype: matrix.dtype, device: matrix.device);
            return (matrix, identity.unsqueeze(0).expand(matrix.shape[1] - 1, 2, 2).flatten());
        }

        public Tensor Merge(Tensor frozen, Tensor factors) => Rotate(frozen, factors.reshape(-1, 2, 2));

        public Tensor Orthogonality(Tensor factors, long rows, long cols)
        {
            var g = factors.reshape(-1, 2, 2);
            return g.transpose(1, 2).matmul(g).sub(eye(2, dtype: g.dtype, device: g.device)).square().sum();
        }
    }
}
