using TorchSharp;
using Topiary.Analysis;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class MatrixNuclearNormTests
{
    [Fact]
    public void The_exact_form_is_the_svd_sum_over_rows_and_the_approximation_bounds_it_from_above_when_every_column_counts()
    {
        using var scope = NewDisposeScope();
        for (var seed = 0; seed < 5; seed++)
        {
            var a = nn.functional.softmax(randn(40, 7, dtype: float64, generator: new Generator((ulong)seed)).mul(3), 1);
            var svd = linalg.svd(a, fullMatrices: false).S.sum().item<double>() / 40;
            Assert.Equal(svd, MatrixNuclearNorm.Exact(a), 10);
            // D = min(40, 7) = 7: every column, and ‖A‖_* ≤ Σ_j‖A_{:,j}‖₂.
            var columns = a.square().sum([0L]).sqrt().sum().item<double>() / 40;
            Assert.Equal(columns, MatrixNuclearNorm.Approximation(a), 10);
            Assert.True(MatrixNuclearNorm.Approximation(a) >= MatrixNuclearNorm.Exact(a) - 1e-12);
        }
    }

    [Fact]
    public void Both_forms_agree_on_orthogonal_columns_and_the_approximation_keeps_only_the_largest_columns()
    {
        using var scope = NewDisposeScope();
        // Distinct one-hot rows: orthogonal columns, ‖A‖_* = B, so both are 1.
        var oneHot = eye(4, 6, dtype: float64);
        Assert.Equal(1.0, MatrixNuclearNorm.Exact(oneHot), 12);
        Assert.Equal(1.0, MatrixNuclearNorm.Approximation(oneHot), 12);
        // Collapsed predictions (every row the same one-hot): one column of ones, ‖A‖_* = √B.
        var collapsed = zeros(9, 3, dtype: float64);
        collapsed[.., 1] = 1;
        Assert.Equal(1 / 3.0, MatrixNuclearNorm.Exact(collapsed), 12);
        Assert.Equal(1 / 3.0, MatrixNuclearNorm.Approximation(collapsed), 12);
        // B = 2 < C = 3: only the D = 2 largest column norms (0.8, 0.4; not 0.2) count, and then the approximation
        // can fall below the exact value (orthogonal rows: singular values √0.68 and 0.4).
        var wide = tensor(new double[,] { { 0.8, 0, 0.2 }, { 0, 0.4, 0 } });
        Assert.Equal((0.8 + 0.4) / 2, MatrixNuclearNorm.Approximation(wide), 12);
        Assert.Equal((Math.Sqrt(0.68) + 0.4) / 2, MatrixNuclearNorm.Exact(wide), 12);
    }

    [Fact]
    public void Measure_runs_the_model_on_every_input_and_takes_the_softmax()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var model = nn.Sequential(nn.Linear(5, 4));
        model.to(float64);
        var x = randn(23, 5, dtype: float64, generator: new Generator(3));
        var metric = MatrixNuclearNorm.Measure(model, x, batchSize: 4);
        Tensor p;
        using (no_grad()) p = nn.functional.softmax(model.forward(x), 1);
        Assert.Equal((23L, 4L), (metric.Rows, metric.Columns));
        Assert.Equal(MatrixNuclearNorm.Exact(p), metric.Exact, 10);
        Assert.Equal(MatrixNuclearNorm.Approximation(p), metric.Approximation, 10);
    }
}
