using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class CauchySchwarzQuantizationTests
{
    // The paper's formulas written out per filter with plain norms: ℓ_bin = N‖x‖₄⁴ − ‖x‖₂⁴, ℓ_ter = ‖x‖₂²‖x‖₆⁶ − ‖x‖₄⁸,
    // divided by ‖x‖₂⁴ resp. ‖x‖₄⁸ when normalized.
    private static Tensor Formula(Tensor w, int levels, bool normalized, double gamma)
    {
        var rows = w.reshape(w.shape[0], -1);
        var s2 = rows.pow(2).sum(1);
        var s4 = rows.pow(4).sum(1);
        var s6 = rows.pow(6).sum(1);
        var value = levels == 2 ? s4.mul(rows.shape[1]).sub(s2.pow(2)) : s2.mul(s6).sub(s4.pow(2));
        if (normalized) value = value.div(levels == 2 ? s2.pow(2) : s4.pow(2));
        return value.sum().mul(gamma);
    }

    public static TheoryData<int, bool, long[]> Cases()
    {
        var data = new TheoryData<int, bool, long[]>();
        foreach (var levels in new[] { 2, 3 })
        foreach (var normalized in new[] { false, true })
        foreach (var shape in new[] { new long[] { 7, 13 }, new long[] { 5, 3, 3, 3 } })
            data.Add(levels, normalized, shape);
        return data;
    }

    // Both grids in both forms.
    public static TheoryData<int, bool> Forms() => new() { { 2, false }, { 3, false }, { 2, true }, { 3, true } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_penalty_equals_the_formula_and_the_analytic_gradient_equals_its_autograd(int levels, bool normalized, long[] shape)
    {
        using var scope = NewDisposeScope();
        var w = randn(shape, dtype: float64, generator: new Generator(21)).mul(0.5);
        var cs = new CauchySchwarzQuantization(levels, normalized);
        var expected = Formula(w, levels, normalized, 0.3).item<double>();
        Assert.True(expected > 0);
        Assert.Equal(1.0, cs.Penalty(w, w, 0.3).item<double>() / expected, 10);
        var autograd = Check.Autograd(w, x => Formula(x, levels, normalized, 0.3));
        Assert.True(Check.MaxRelativeDifference(Check.Added(cs, w, 0.3), autograd) < 1e-10);
        Assert.True(Check.MaxRelativeDifference(Check.Autograd(w, x => cs.Penalty(x, x, 0.3)), autograd) < 1e-10);
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void The_gradient_in_single_precision_at_the_scale_of_real_weights_matches_double_precision(int levels, bool normalized)
    {
        using var scope = NewDisposeScope();
        var w = randn(6, 300, dtype: float64, generator: new Generator(22)).mul(0.05);
        var cs = new CauchySchwarzQuantization(levels, normalized);
        var single = Check.Added(cs, w.to_type(float32), 1.0).to_type(float64);
        Assert.True(single.isfinite().all().item<bool>());
        Assert.True(Check.MaxRelativeDifference(single, Check.Added(cs, w, 1.0)) < 1e-3);
    }

    [Fact]
    public void The_penalty_is_zero_on_exact_grids_with_a_different_scale_per_row_and_positive_otherwise()
    {
        using var scope = NewDisposeScope();
        var signs = randint(0, 2, new long[] { 4, 12 }, dtype: float64, generator: new Generator(23)).mul(2).sub(1);
        var betas = tensor(new[] { 0.01, 0.3, 1.0, 25.0 }, dtype: float64).unsqueeze(1);
        var binary = signs.mul(betas);
        var keep = rand(new long[] { 4, 12 }, dtype: float64, generator: new Generator(24)).gt(0.4).to_type(float64);
        keep.select(1, 0).fill_(1);   // every row keeps a non-zero and has a zero
        keep.select(1, 1).fill_(0);
        var ternary = binary.mul(keep);
        Assert.True(ternary.eq(0).any().item<bool>());
        var noise = randn(4, 12, dtype: float64, generator: new Generator(29)).mul(betas);
        foreach (var normalized in new[] { false, true })
        {
            var bin = new CauchySchwarzQuantization(2, normalized);
            var ter = new CauchySchwarzQuantization(3, normalized);
            // Row by row, relative to the same row with noise of its own scale, so that the raw forms (degree 4 and 8)
            // of rows with different β are compared fairly.
            double[] Relative(CauchySchwarzQuantization r, Tensor w) => Enumerable.Range(0, 4).Select(i =>
            {
                var row = w.narrow(0, i, 1);
                var noisy = row.add(noise.narrow(0, i, 1));
                return r.Penalty(row, row, 1).item<double>() / r.Penalty(noisy, noisy, 1).item<double>();
            }).ToArray();
            Assert.True(Relative(bin, binary).Max(Math.Abs) < 1e-12);
            Assert.True(Relative(ter, binary).Max(Math.Abs) < 1e-12, "a binary row is ternary too");
            Assert.True(Relative(ter, ternary).Max(Math.Abs) < 1e-12);
            Assert.True(Relative(bin, ternary).Min() > 1e-3, "zeros are off the binary grid");
            var off = ternary.clone();
            off[2, 0].mul_(1.1);
            Assert.True(Relative(ter, off)[2] > 1e-4);
            Assert.True(Relative(bin, binary.add(noise.mul(0.05))).Min() > 1e-5);
        }
    }

    [Fact]
    public void The_normalized_form_does_not_depend_on_the_scale_and_the_raw_form_is_homogeneous()
    {
        using var scope = NewDisposeScope();
        var w = randn(5, 20, dtype: float64, generator: new Generator(25));
        foreach (var levels in new[] { 2, 3 })
        {
            var normalized = new CauchySchwarzQuantization(levels, normalized: true);
            var raw = new CauchySchwarzQuantization(levels, normalized: false);
            var degree = levels == 2 ? 4 : 8;
            foreach (var c in new[] { 1e-3, 0.05, 7.0 })
            {
                var scaled = w.mul(c);
                Assert.Equal(1.0, normalized.Penalty(scaled, scaled, 1).item<double>() / normalized.Penalty(w, w, 1).item<double>(), 12);
                Assert.True(Check.MaxRelativeDifference(Check.Added(normalized, scaled, 1).mul(c), Check.Added(normalized, w, 1)) < 1e-12);
                Assert.Equal(1.0, raw.Penalty(scaled, scaled, 1).item<double>() / raw.Penalty(w, w, 1).item<double>() / Math.Pow(c, degree), 10);
            }
            // A scale-invariant function's gradient is orthogonal to its argument, row by row.
            var g = Check.Added(normalized, w, 1);
            Assert.True(g.mul(w).sum(1).abs().max().item<double>() < 1e-12 * g.abs().max().item<double>() * w.abs().max().item<double>() * 20);
        }
        // Normalized binary of a Gaussian row is about N·3σ⁴·N/(N²σ⁴) − 1 = 2, bounded by N − 1.
        var wide = randn(50, 400, dtype: float64, generator: new Generator(26)).mul(0.05);
        Assert.InRange(new CauchySchwarzQuantization(2).Penalty(wide, wide, 1).item<double>() / 50, 1.7, 2.3);
        var spike = zeros(1, 400, dtype: float64);
        spike[0, 3].fill_(1);
        Assert.Equal(399.0, new CauchySchwarzQuantization(2).Penalty(spike, spike, 1).item<double>(), 9);
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void An_all_zero_row_contributes_nothing_and_gets_a_zero_finite_gradient(int levels, bool normalized)
    {
        using var scope = NewDisposeScope();
        var cs = new CauchySchwarzQuantization(levels, normalized);
        foreach (var dtype in new[] { float32, float64 })
        {
            var w = randn(4, 3, 2, 2, dtype: dtype, generator: new Generator(27));
            w[1].zero_();
            var others = cat(new[] { w.narrow(0, 0, 1), w.narrow(0, 2, 2) }, 0);
            Assert.Equal(1.0, cs.Penalty(w, w, 1).to_type(float64).item<double>() / cs.Penalty(others, others, 1).to_type(float64).item<double>(), 5);
            var added = Check.Added(cs, w, 1);
            Assert.True(added.isfinite().all().item<bool>());
            Assert.Equal(0.0, added[1].abs().sum().to_type(float64).item<double>());
            Assert.True(added[0].abs().sum().to_type(float64).item<double>() > 0);
            var autograd = Check.Autograd(w, x => cs.Penalty(x, x, 1));
            Assert.True(autograd.isfinite().all().item<bool>());
            Assert.Equal(0.0, autograd[1].abs().sum().to_type(float64).item<double>());
            var allZero = zeros(3, 5, dtype: dtype);
            Assert.Equal(0.0, cs.Penalty(allZero, allZero, 1).to_type(float64).item<double>());
            Assert.Equal(0.0, Check.Added(cs, allZero, 1).abs().sum().to_type(float64).item<double>());
        }
    }

    // ‖x − q‖²/‖x‖² for the nearest q ∈ {−β, 0, +β}ᴺ, β free: the k largest |x_i| go to ±β with β their mean.
    private static double TernaryDistance(Tensor row)
    {
        var magnitudes = row.abs().flatten().data<double>().OrderByDescending(v => v).ToArray();
        var total = magnitudes.Sum(v => v * v);
        double best = total, prefix = 0;
        for (var k = 1; k <= magnitudes.Length; k++)
        {
            prefix += magnitudes[k - 1];
            best = Math.Min(best, total - prefix * prefix / k);
        }
        return best / total;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gradient_descent_on_the_ternary_penalty_alone_moves_a_random_row_towards_the_nearest_ternary_grid(bool normalized)
    {
        using var scope = NewDisposeScope();
        var x = randn(1, 24, dtype: float64, generator: new Generator(28)).mul(0.2);
        var cs = new CauchySchwarzQuantization(3, normalized);
        var before = TernaryDistance(x);
        var penalty = cs.Penalty(x, x, 1).item<double>();
        for (var i = 0; i < 50; i++)
        {
            var g = Check.Added(cs, x, 1);
            // A step of 1% of the row's norm, whatever the form's scale.
            x = x.sub(g.mul(0.01 * x.norm().item<double>() / g.norm().item<double>()));
        }
        Assert.True(cs.Penalty(x, x, 1).item<double>() < penalty);
        Assert.True(TernaryDistance(x) < 0.5 * before, $"relative distance to the ternary grid {before} → {TernaryDistance(x)}");
    }

    [Fact]
    public void The_catalogue_builds_it_from_its_spec_and_rejects_bad_parameters()
    {
        var term = RegularizerSpec.Parse("cs:1e-3:levels=2").Single();
        var cs = Assert.IsType<CauchySchwarzQuantization>(term.Regularizer);
        Assert.Equal((2, true, 1e-3), (cs.Levels, cs.Normalized, term.Strength));
        var raw = Assert.IsType<CauchySchwarzQuantization>(RegularizerSpec.Parse("cs::normalized=0").Single().Regularizer);
        Assert.Equal((3, false), (raw.Levels, raw.Normalized));
        var byDefault = Assert.IsType<CauchySchwarzQuantization>(RegularizerCatalog.Create("cs"));
        Assert.Equal((3, true), (byDefault.Levels, byDefault.Normalized));
        Assert.Equal(1e-3, RegularizerLibrary.Find("cs")!.DefaultStrength);
        Assert.Contains("cs", RegularizerCatalog.Names);
        foreach (var (spec, reason) in new[]
        {
            ("cs:1e-3:levels=5", "levels must be 2 (binary) or 3 (ternary), got 5"),
            ("cs:1e-3:levels=2.5", "levels must be a whole number"),
            ("cs:1e-3:normalized=2", "normalized must be 0 or 1"),
            ("cs:1e-3:level=2", "unknown parameter 'level' of 'cs'"),
        })
        {
            var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse(spec)).Message;
            Assert.Contains(reason, message);
            Assert.DoesNotContain("\n", message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => RegularizerLibrary.Find("cs")!.Create(new Dictionary<string, double> { ["levels"] = 5 }));
    }

    [Fact]
    public void It_applies_to_matrices_and_kernels_only()
    {
        using var scope = NewDisposeScope();
        var cs = new CauchySchwarzQuantization();
        Assert.True(cs.AppliesTo(zeros(3, 4)));
        Assert.True(cs.AppliesTo(zeros(3, 2, 3, 3)));
        Assert.False(cs.AppliesTo(zeros(3)));
    }
}
