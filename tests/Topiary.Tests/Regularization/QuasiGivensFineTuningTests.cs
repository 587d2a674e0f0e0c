using Topiary.Tests.Support;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class QuasiGivensFineTuningTests
{
    // R = G₁G₂⋯G_L written out densely: each G_l is I with block g_k on rows/columns (2s·k, 2s·k + s).
    private static Tensor DenseRotation(Tensor blocks, long d)
    {
        var rotation = eye(d, dtype: blocks.dtype);
        var offset = 0L;
        foreach (var (step, count) in GivensTree.Stages(d))
        {
            var stage = eye(d, dtype: blocks.dtype);
            for (var k = 0L; k < count; k++)
            {
                var embed = zeros(d, 2, dtype: blocks.dtype);
                embed[2 * step * k, 0] = tensor(1.0, dtype: blocks.dtype);
                embed[2 * step * k + step, 1] = tensor(1.0, dtype: blocks.dtype);
                stage = stage.add(embed.matmul(blocks[offset + k].sub(eye(2, dtype: blocks.dtype))).matmul(embed.t()));
            }
            rotation = rotation.matmul(stage);
            offset += count;
        }
        return rotation;
    }

    private static Tensor Penalty(Tensor blocks) => blocks.transpose(1, 2).matmul(blocks).sub(eye(2, dtype: blocks.dtype)).square().sum();

    // Givens rotations by random angles, every third one a reflection.
    private static Tensor OrthogonalBlocks(long count, int seed)
    {
        var angles = rand(count, dtype: float64, generator: new Generator((ulong)seed)).mul(2 * Math.PI);
        var (c, s) = (angles.cos(), angles.sin());
        var sign = tensor(Enumerable.Range(0, (int)count).Select(k => k % 3 == 2 ? -1.0 : 1.0).ToArray(), dtype: float64);
        return stack([stack([c, s.neg().mul(sign)], 1), stack([s, c.mul(sign)], 1)], 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(33)]
    public void The_tree_has_d_minus_1_disjoint_pairs_in_ceil_log2_d_stages_and_reaches_every_coordinate(int d)
    {
        var stages = GivensTree.Stages(d).ToList();
        Assert.Equal(d - 1, stages.Sum(s => s.Count));
        Assert.Equal(d == 1 ? 0 : (int)Math.Ceiling(Math.Log2(d)), stages.Count);
        var touched = new HashSet<long>();
        foreach (var (step, count) in stages)
        {
            var used = new HashSet<long>();
            for (var k = 0L; k < count; k++)
            {
                var (i, j) = (2 * step * k, 2 * step * k + step);
                Assert.True(j < d);
                Assert.True(used.Add(i) && used.Add(j), "pairs of a stage are disjoint");
                touched.Add(i);
                touched.Add(j);
            }
        }
        Assert.Equal(d == 1 ? 0 : d, touched.Count);
    }

    [Theory]
    [InlineData(new long[] { 5, 7 })]
    [InlineData(new long[] { 4, 3, 2, 2 })]
    public void Identity_blocks_give_the_pretrained_weight_exactly(long[] shape)
    {
        using var scope = NewDisposeScope();
        var weight = randn(shape, generator: new Generator(4));
        var pretrained = weight.clone();
        var qgoft = new QuasiGivensFineTuning();
        qgoft.AddGradient(weight, zeros_like(weight), 0.1);
        qgoft.Project(weight, zeros_like(weight), 0.1, 0.1);
        var d = weight.numel() / shape[0];
        var blocks = qgoft.Blocks(weight)!;
        Assert.Equal(new long[] { d - 1, 2, 2 }, blocks.shape);
        Assert.True(TensorAssert.BitEqual(blocks, eye(2).expand(d - 1, 2, 2)));
        Assert.True(TensorAssert.BitEqual(weight, pretrained), "W = W₀·I bit for bit");
        Assert.Equal(0.0, qgoft.Penalty(weight, zeros_like(weight), 1.0).item<float>());
    }

    [Fact]
    public void Orthogonal_blocks_make_R_orthogonal_and_keep_norms_and_the_angles_between_neurons()
    {
        using var scope = NewDisposeScope();
        const long d = 11;
        var blocks = OrthogonalBlocks(d - 1, 6);
        var rotation = QuasiGivensFineTuning.Rotate(eye(d, dtype: float64), blocks);
        Assert.True(Check.MaxRelativeDifference(rotation, DenseRotation(blocks, d)) < 1e-14, "the stages multiply as the dense product");
        Assert.True(Check.MaxRelativeDifference(rotation.t().matmul(rotation), eye(d, dtype: float64)) < 1e-13, "RᵀR = I");
        Assert.True(rotation.sub(eye(d, dtype: float64)).abs().max().item<double>() > 0.5, "R is not trivial");

        var pretrained = randn(6, d, dtype: float64, generator: new Generator(7));
        var weight = QuasiGivensFineTuning.Rotate(pretrained, blocks);
        Assert.True(Check.MaxRelativeDifference(weight, pretrained.matmul(rotation)) < 1e-13, "W = W₀·R");
        Assert.Equal(pretrained.norm().item<double>(), weight.norm().item<double>(), 1e-12);
        // Inner products, hence norms and angles, between the neurons (rows) are kept.
        Assert.True(Check.MaxRelativeDifference(weight.matmul(weight.t()), pretrained.matmul(pretrained.t())) < 1e-13);

        // A block with a norm of its own ("quasi") breaks it.
        blocks[3] = blocks[3].mul(1.5);
        var scaled = QuasiGivensFineTuning.Rotate(pretrained, blocks);
        Assert.True(Math.Abs(scaled.norm().item<double>() - pretrained.norm().item<double>()) > 1e-3);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    public void Block_gradients_are_autograd_of_the_loss_through_W0_R_plus_the_penalty(double gamma)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(8, outputs: 3);
        var pretrained = network.First.detach().clone();
        var qgoft = new QuasiGivensFineTuning(learningRate: 0.05);
        // A few steps first, so that the blocks are neither the identity nor orthogonal.
        network.Steps(qgoft, 4, 0.0);
        var blocks = qgoft.Blocks(network.First)!.requires_grad_();
        Assert.True(Penalty(blocks).item<double>() > 1e-6);

        network.Loss(pretrained.matmul(DenseRotation(blocks, 4))).add(Penalty(blocks).mul(gamma)).backward();
        var actual = qgoft.Training.FactorGradient(network.First, network.FirstGradient(), gamma).reshape(-1, 2, 2);
        Assert.True(Check.MaxRelativeDifference(actual, blocks.grad!) < 1e-12, $"differs by {Check.MaxRelativeDifference(actual, blocks.grad!)}");
    }

    [Fact]
    public void The_soft_orthogonality_penalty_and_its_gradient_are_the_formula_and_its_autograd()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(9, outputs: 3);
        var qgoft = new QuasiGivensFineTuning(learningRate: 0.05);
        network.Steps(qgoft, 4, 0.0);
        var blocks = qgoft.Blocks(network.First)!;
        const double gamma = 0.3;
        Assert.Equal(gamma * Penalty(blocks).item<double>(), qgoft.Penalty(network.First, zeros_like(network.First), gamma).item<double>(), 1e-14);

        var actual = qgoft.Training.FactorGradient(network.First, zeros_like(network.First), gamma).reshape(-1, 2, 2);
        var leaf = blocks.clone().requires_grad_();
        Penalty(leaf).mul(gamma).backward();
        Assert.True(Check.MaxRelativeDifference(actual, leaf.grad!) < 1e-12);
        // ∂/∂g ‖gᵀg − I‖² = 4g(gᵀg − I).
        var closed = blocks.matmul(blocks.transpose(1, 2).matmul(blocks).sub(eye(2, dtype: float64))).mul(4 * gamma);
        Assert.True(Check.MaxRelativeDifference(actual, closed) < 1e-12);
    }
}
