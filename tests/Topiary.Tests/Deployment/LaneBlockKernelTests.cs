using Topiary.Inference;
using Topiary.Tests.Support;

namespace Topiary.Tests.Deployment;

public class LaneBlockKernelTests
{
    private static readonly double[] Densities = { 0.0, 0.01, 0.05, 0.3, 1.0 };

    private static float[] RandomMatrix(Random random, int rows, int columns, double density) =>
        SparseKernelTests.RandomMatrix(random, rows, columns, density);

    private static (int Rows, int Columns) RandomShape(Random random, int trial) =>
        // Below, at and above one slice (16 rows) and one window (32 columns), and not multiples of either.
        trial < 4 ? (new[] { 1, 16, 17, 33 }[trial], new[] { 1, 32, 31, 65 }[trial]) : (random.Next(1, 80), random.Next(1, 260));

    [Fact]
    public void The_layout_holds_every_nonzero_once_in_blocks_as_long_as_their_fullest_row()
    {
        var random = new Random(21);
        for (var trial = 0; trial < 40; trial++)
        {
            var (rows, columns) = RandomShape(random, trial);
            var density = Densities[trial % Densities.Length];
            var dense = RandomMatrix(random, rows, columns, density);
            var layout = LaneBlockMatrix.From(CsrMatrix.FromDense(dense, rows, columns));
            Assert.Equal(dense, layout.ToDense());
            Assert.Equal(layout.Blocks, layout.SliceStart[^1]);
            for (var s = 0; s < layout.Slices; s++)
            {
                var windows = Enumerable.Range(0, layout.Windows).Where(w => Fullest(dense, rows, columns, s, w) > 0).ToList();
                var blocks = Enumerable.Range(layout.SliceStart[s], layout.SliceStart[s + 1] - layout.SliceStart[s]).ToList();
                Assert.Equal(windows.Select(w => w * LaneBlockMatrix.Window), blocks.Select(b => layout.BlockColumn[b]));
                Assert.Equal(windows.Select(w => Fullest(dense, rows, columns, s, w)), blocks.Select(b => layout.BlockSteps[b]));
            }
            Assert.All(layout.Positions.Span.ToArray(), p => Assert.InRange(p, 0, LaneBlockMatrix.Window - 1));
        }
    }

    /// <summary>The most non-zeros any row of slice s has in window w.</summary>
    private static int Fullest(float[] dense, int rows, int columns, int slice, int window)
    {
        var most = 0;
        for (var r = slice * LaneBlockMatrix.Lanes; r < Math.Min(rows, (slice + 1) * LaneBlockMatrix.Lanes); r++)
        {
            var count = 0;
            for (var c = window * LaneBlockMatrix.Window; c < Math.Min(columns, (window + 1) * LaneBlockMatrix.Window); c++)
                if (dense[r * columns + c] != 0f) count++;
            most = Math.Max(most, count);
        }
        return most;
    }

    [Fact]
    public void The_layout_is_aligned_to_64_bytes()
    {
        var layout = LaneBlockMatrix.From(CsrMatrix.FromDense(RandomMatrix(new Random(22), 40, 90, 0.2), 40, 90));
        Assert.Equal(0, layout.Weights.Address % 64);
        Assert.Equal(0, layout.Positions.Address % 64);
    }

    [Avx512Fact]
    public void The_kernel_matches_a_float64_reference_and_writes_nothing_past_the_rows()
    {
        var random = new Random(23);
        for (var trial = 0; trial < 60; trial++)
        {
            var (rows, columns) = RandomShape(random, trial);
            var density = Densities[trial % Densities.Length];
            var dense = RandomMatrix(random, rows, columns, density);
            var bias = Enumerable.Range(0, rows).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            // Input longer than the columns: values past them must not count.
            var input = Enumerable.Range(0, columns + 5).Select(i => i < columns ? (float)(random.NextDouble() * 2 - 1) : float.NaN).ToArray();
            var output = Enumerable.Repeat(-7f, rows + 16).ToArray();
            var relu = trial % 2 == 0;
            LaneBlockKernel.Multiply(LaneBlockMatrix.From(CsrMatrix.FromDense(dense, rows, columns)), bias, input, output, relu);
            for (var r = 0; r < rows; r++)
            {
                double expected = bias[r];
                for (var c = 0; c < columns; c++) expected += (double)dense[r * columns + c] * input[c];
                if (relu) expected = Math.Max(0, expected);
                Assert.True(Math.Abs(output[r] - expected) <= 1e-5 * (1 + Math.Abs(expected)),
                    $"trial {trial} ({rows}×{columns}, density {density}): [{r}] = {output[r]}, expected {expected}");
            }
            Assert.All(output[rows..], v => Assert.Equal(-7f, v));
        }
    }

    [Avx512Fact]
    public void Relu_keeps_a_nan_sum_nan_as_libtorch_does_and_zeroes_negative_sums()
    {
        var layout = LaneBlockMatrix.From(CsrMatrix.FromDense(new float[] { 1f, 1f, 0f, 0f, 0f, 2f }, 3, 2));
        var output = new float[3];
        // inf − inf: NaN, not 0 (vmaxps returns its second operand when either is NaN).
        LaneBlockKernel.Multiply(layout, new[] { 0f, -3f, 0f }, new[] { float.PositiveInfinity, float.NegativeInfinity }, output, relu: true);
        Assert.True(float.IsNaN(output[0]), $"relu(NaN) gave {output[0]}");
        LaneBlockKernel.Multiply(layout, new[] { 0f, -3f, 0f }, new[] { -1f, 1.5f }, output, relu: true);
        Assert.Equal(new[] { 0.5f, 0f, 3f }, output);
    }

    [Fact]
    public void The_layout_is_chosen_where_it_is_expected_to_beat_gathers_and_not_past_the_cache_budget()
    {
        var random = new Random(24);
        // LeNet-300-100's first layer at 95% sparsity: about half the gather kernel's time.
        var lenet = CsrMatrix.FromDense(RandomMatrix(random, 300, 784, 0.05), 300, 784);
        Assert.NotNull(LaneBlockMatrix.IfFasterThanGathers(lenet));
        // 2048×2048 at 5%: 2.7 MB of slots, past the budget.
        var large = CsrMatrix.FromDense(RandomMatrix(random, 2048, 2048, 0.05), 2048, 2048);
        Assert.True(LaneBlockMatrix.From(large).Bytes > LaneBlockMatrix.CacheBudgetBytes);
        Assert.Null(LaneBlockMatrix.IfFasterThanGathers(large));
        // One long row: each step would use 1 lane of 16, where a gather fetches 8 of the row's inputs.
        var row = Enumerable.Range(0, 4096).Select(c => c % 20 == 0 ? 1f : 0f).ToArray();
        Assert.Null(LaneBlockMatrix.IfFasterThanGathers(CsrMatrix.FromDense(row, 1, 4096)));
        Assert.Equal(LaneBlockKernel.IsSupported, lenet.LaneBlocks is not null);
        Assert.Null(large.LaneBlocks);
    }
}
