using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class GroupOrthogonalityCrossTests
{
    // The full GOR formula written out set by set: groups of consecutive filters, and sets of the j-th filter of every group.
    private static Tensor Formula(Tensor w, int groups, double beta, double gamma)
    {
        var rows = w.reshape(w.shape[0], -1);
        var size = rows.shape[0] / groups;
        Tensor Distance(Tensor set) => set.shape[0] <= set.shape[1]
            ? set.matmul(set.t()).sub(eye(set.shape[0], dtype: set.dtype)).square().sum()
            : set.t().matmul(set).sub(eye(set.shape[1], dtype: set.dtype)).square().sum();
        var total = zeros(1, dtype: w.dtype).sum();
        for (var g = 0; g < groups; g++)
            total = total.add(Distance(rows.narrow(0, g * size, g == groups - 1 ? rows.shape[0] - g * size : size)));
        for (var j = 0; j < size; j++)
        {
            var members = tensor(Enumerable.Range(0, groups).Select(g => (long)(g * size + j)).ToArray());
            total = total.add(Distance(rows.index_select(0, members)).mul(beta));
        }
        return total.mul(gamma);
    }

    [Theory]
    [InlineData(8, 12, 2)]    // wide sets
    [InlineData(9, 12, 4)]    // G does not divide m: the last group keeps the remainder, which is in no across-groups set
    [InlineData(12, 3, 4)]    // tall groups, wide across-groups sets
    [InlineData(16, 3, 2)]    // tall sets on both sides
    public void Penalty_and_gradient_with_the_across_groups_term_equal_the_formula_and_its_autograd(long rows, long cols, int groups)
    {
        using var scope = NewDisposeScope();
        var w = randn(rows, cols, dtype: float64, generator: new Generator(11)).mul(0.5);
        var gor = new GroupOrthogonality(groups, crossWeight: 0.7);
        Assert.Equal(Formula(w, groups, 0.7, 0.3).item<double>(), gor.Penalty(w, w, 0.3).item<double>(), 10);
        var expected = Check.Autograd(w, x => Formula(x, groups, 0.7, 0.3));
        Assert.True(Check.MaxRelativeDifference(Check.Added(gor, w, 0.3), expected) < 1e-10);
    }

    [Fact]
    public void The_across_groups_term_is_zero_when_all_filters_are_orthonormal_and_positive_for_unrelated_blocks()
    {
        using var scope = NewDisposeScope();
        var orthonormal = Check.Orthonormal(6, 10, 3).reshape(6, 2, 5);   // a kernel: filters are seen flattened
        Assert.True(new GroupOrthogonality(2, crossWeight: 1).Penalty(orthonormal, zeros(1), 1).item<double>() < 1e-20);
        var blocks = cat(new[] { Check.Orthonormal(3, 8, 5), Check.Orthonormal(3, 8, 6) }, 0);
        Assert.True(new GroupOrthogonality(2).Penalty(blocks, zeros(1), 1).item<double>() < 1e-20);
        Assert.True(new GroupOrthogonality(2, crossWeight: 1).Penalty(blocks, zeros(1), 1).item<double>() > 1e-3,
            "the j-th filters of the two blocks are not orthogonal");
    }

    [Fact]
    public void The_spec_reaches_groups_and_the_across_groups_weight_and_rejects_bad_parameters_in_one_line()
    {
        var gor = Assert.IsType<GroupOrthogonality>(RegularizerSpec.Parse("gor:1e-4:groups=2:cross=0.5").Single().Regularizer);
        Assert.Equal((2, 0.5), (gor.Groups, gor.CrossWeight));
        Assert.Equal(1e-4, RegularizerSpec.Parse("gor:1e-4:cross").Single().Strength);
        Assert.Equal(1.0, ((GroupOrthogonality)RegularizerSpec.Parse("gor::cross").Single().Regularizer).CrossWeight);
        foreach (var (spec, reason) in new[]
        {
            ("gor:1e-4:cros=1", "unknown parameter 'cros' of 'gor'"),
            ("so:1e-4:cross=1", "'so' takes no parameters"),
            ("gor:1e-4:groups=2.5", "groups must be a whole number"),
            ("gor:1e-4:cross=-1", "must be a finite number ≥ 0"),
            ("gor:1e-4:cross=x", "parameter 'cross' of 'gor' must be a finite number"),
            ("scad:1e-2:fista=2", "fista must be 0 or 1"),
            ("gor:1e-4:cross=1:cross=2", "given twice"),
        })
        {
            var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse(spec)).Message;
            Assert.Contains(reason, message);
            Assert.DoesNotContain("\n", message);
        }
    }
}
