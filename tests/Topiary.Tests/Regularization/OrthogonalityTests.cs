using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class OrthogonalityTests
{
    [Theory]
    [InlineData(6, 10)]
    [InlineData(10, 6)]
    public void Soft_orthonormality_gradient_equals_autograd_of_its_penalty(long rows, long cols)
    {
        using var scope = NewDisposeScope();
        var w = randn(rows, cols, dtype: float64, generator: new Generator(1)).mul(0.4);
        var so = new SoftOrthonormality();
        Assert.True(Check.MaxRelativeDifference(Check.Added(so, w, 0.3), Check.Autograd(w, x => so.Penalty(x, x, 0.3))) < 1e-10);
        // The closed form of the paper: 4γ(WWᵀ − I)W on the wide side.
        if (rows <= cols)
            Assert.True(Check.MaxRelativeDifference(Check.Added(so, w, 0.3), w.matmul(w.t()).sub(eye(rows, dtype: float64)).matmul(w).mul(4 * 0.3)) < 1e-10);
    }

    [Fact]
    public void Soft_orthonormality_is_zero_on_orthonormal_rows_or_columns_and_positive_otherwise()
    {
        using var scope = NewDisposeScope();
        var so = new SoftOrthonormality();
        Assert.True(so.Penalty(Check.Orthonormal(4, 9, 2), zeros(1), 1).item<double>() < 1e-20);
        Assert.True(so.Penalty(Check.Orthonormal(9, 4, 3), zeros(1), 1).item<double>() < 1e-20, "a tall matrix must use WᵀW");
        Assert.True(so.Penalty(Check.Orthonormal(4, 9, 2).mul(1.1), zeros(1), 1).item<double>() > 1e-3);
        var kernel = Check.Orthonormal(3, 8, 4).reshape(3, 2, 2, 2);
        Assert.True(so.Penalty(kernel, zeros(1), 1).item<double>() < 1e-20, "kernels are seen as filters × (in·k·k)");
    }

    [Fact]
    public void Group_orthogonality_is_zero_on_block_orthonormal_weights_and_with_one_group_equals_soft_orthonormality()
    {
        using var scope = NewDisposeScope();
        var blocks = cat(new[] { Check.Orthonormal(3, 8, 5), Check.Orthonormal(3, 8, 6) }, 0);
        Assert.True(new GroupOrthogonality(2).Penalty(blocks, zeros(1), 1).item<double>() < 1e-20);
        Assert.True(new SoftOrthonormality().Penalty(blocks, zeros(1), 1).item<double>() > 1e-3, "different blocks are not orthogonal to each other");
        var w = randn(8, 12, dtype: float64, generator: new Generator(7));
        var gor = new GroupOrthogonality(3);
        Assert.True(Check.MaxRelativeDifference(Check.Added(gor, w, 0.2), Check.Autograd(w, x => gor.Penalty(x, x, 0.2))) < 1e-10);
        Assert.Equal(new SoftOrthonormality().Penalty(w, w, 0.2).item<double>(), new GroupOrthogonality(1).Penalty(w, w, 0.2).item<double>(), 12);
        Assert.True(Check.Added(new SoftOrthonormality(), w, 0.2).eq(Check.Added(new GroupOrthogonality(1), w, 0.2)).all().item<bool>());
    }

    [Fact]
    public void Gradient_descent_on_the_penalty_alone_drives_the_orthonormality_error_below_1e_3()
    {
        using var scope = NewDisposeScope();
        var w = randn(5, 12, dtype: float64, generator: new Generator(8)).mul(0.3);
        var gor = new GroupOrthogonality(2);
        for (var i = 0; i < 400; i++) w.sub_(Check.Added(gor, w, 1.0).mul(0.05));
        Assert.True(gor.Penalty(w, w, 1).item<double>() < 1e-3);
    }

    [Fact]
    public void Norm_loss_gradient_matches_its_closed_form_and_the_penalty_vanishes_exactly_on_unit_rows()
    {
        using var scope = NewDisposeScope();
        var w = randn(7, 5, dtype: float64, generator: new Generator(9));
        var loss = new NormLoss();
        var norms = w.norm(1, keepdim: true);
        var closedForm = w.div(norms).mul(norms.neg().add(1)).mul(-2 * 0.4);
        Assert.True(Check.MaxRelativeDifference(Check.Added(loss, w, 0.4), closedForm) < 1e-12);
        Assert.True(Check.MaxRelativeDifference(Check.Added(loss, w, 0.4), Check.Autograd(w, x => loss.Penalty(x, x, 0.4))) < 1e-10);
        var unit = w.div(norms);
        Assert.Equal(0.0, loss.Penalty(unit, unit, 1).item<double>(), 15);
        var rotated = unit.matmul(Check.Orthonormal(5, 5, 10));
        Assert.Equal(0.0, loss.Penalty(rotated, rotated, 1).item<double>(), 15);
    }

    [Fact]
    public void Conv_orthogonality_is_zero_for_a_delta_kernel_and_a_1x1_orthogonal_conv()
    {
        using var scope = NewDisposeScope();
        var reg = new ConvOrthogonality();
        var delta = zeros(3, 3, 3, 3, dtype: float64);
        for (var c = 0; c < 3; c++) delta[c, c, 1, 1] = 1;
        Assert.Equal(0.0, reg.Penalty(delta, delta, 1).item<double>(), 15);
        var pointwise = Check.Orthonormal(4, 4, 11).reshape(4, 4, 1, 1);
        Assert.True(reg.Penalty(pointwise, pointwise, 1).item<double>() < 1e-24);
        Assert.True(reg.Penalty(delta.mul(0.9), delta, 1).item<double>() > 1e-2);
    }

    [Fact]
    public void Minimizing_conv_orthogonality_makes_every_singular_value_of_the_circular_convolution_near_one()
    {
        using var scope = NewDisposeScope();
        var kernel = randn(2, 4, 3, 3, dtype: float64, generator: new Generator(12)).mul(0.3);
        var reg = new ConvOrthogonality();
        for (var i = 0; i < 1500; i++) kernel.sub_(Check.Added(reg, kernel, 1.0).mul(0.02));
        // Singular values of the circular convolution on 8×8 images: those of the per-frequency 2×4 blocks.
        var spectrum = fft.fft2(kernel, new long[] { 8, 8 }).permute(2, 3, 0, 1).reshape(64, 2, 4);
        var singular = linalg.svdvals(spectrum);
        Assert.True(singular.sub(1).abs().max().item<double>() < 0.05, $"singular values span {singular.min().item<double>()}..{singular.max().item<double>()}");
    }
}
