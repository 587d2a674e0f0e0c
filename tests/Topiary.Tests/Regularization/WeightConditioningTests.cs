using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class WeightConditioningTests
{
    private static double ConditionNumber(Tensor matrix)
    {
        var s = linalg.svdvals(matrix.to(float64));
        return s.max().item<double>() / s.min().item<double>();
    }

    // Random matrices whose rows (or columns) have scales spread over two orders of magnitude, the ill-conditioning a
    // diagonal scaling can remove.
    private static Tensor Badly(long rows, long columns, Generator generator, long scaledDim)
    {
        var scales = randn(scaledDim == 0 ? rows : columns, dtype: float64, generator: generator).mul(1.5).exp();
        var matrix = randn(rows, columns, dtype: float64, generator: generator);
        return scaledDim == 0 ? matrix.mul(scales.unsqueeze(1)) : matrix.mul(scales.unsqueeze(0));
    }

    [Theory]
    [InlineData(Equilibration.Rows, 0)]
    [InlineData(Equilibration.Columns, 1)]
    [InlineData(Equilibration.RowsThenColumns, 0)]
    public void The_conditioned_matrix_is_no_worse_conditioned_than_the_raw_one(Equilibration mode, long scaledDim)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        foreach (var (rows, columns) in new[] { (6L, 6L), (5L, 9L), (9L, 5L), (12L, 12L) })
            for (var i = 0; i < 10; i++)
            {
                var w = Badly(rows, columns, generator, scaledDim);
                var raw = ConditionNumber(w);
                var conditioned = ConditionNumber(WeightConditioning.Conditioned(w, mode, 1));
                Assert.True(conditioned <= raw, $"{mode} {rows}×{columns}: κ {conditioned} > raw {raw}");
            }
    }

    [Fact]
    public void Every_row_has_unit_norm_for_matrices_and_kernels_and_every_column_under_column_equilibration()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(4);
        var matrix = randn(7, 5, dtype: float64, generator: generator).mul(3);
        var kernel = randn(4, 3, 2, 2, dtype: float64, generator: generator).mul(0.2);
        foreach (var w in new[] { matrix, kernel })
        {
            var rows = WeightConditioning.Conditioned(w, Equilibration.Rows, 1).reshape(w.shape[0], -1);
            Assert.True(linalg.vector_norm(rows, dims: [1]).sub(1).abs().max().item<double>() < 1e-12);
            var columns = WeightConditioning.Conditioned(w, Equilibration.Columns, 1).reshape(w.shape[0], -1);
            Assert.True(linalg.vector_norm(columns, dims: [0]).sub(1).abs().max().item<double>() < 1e-12);
            var both = WeightConditioning.Conditioned(w, Equilibration.RowsThenColumns, 1).reshape(w.shape[0], -1);
            Assert.True(linalg.vector_norm(both, dims: [0]).sub(1).abs().max().item<double>() < 1e-12);
        }
        // D·W: each row is the raw row times one positive number.
        var scaled = WeightConditioning.Conditioned(matrix, Equilibration.Rows, 1);
        var ratios = scaled.div(matrix);
        Assert.True(ratios.sub(ratios[.., 0..1]).abs().max().item<double>() < 1e-12);
        Assert.True(ratios.min().item<double>() > 0);
    }

    [Theory]
    [InlineData(Equilibration.Rows, 1.0)]
    [InlineData(Equilibration.Columns, 1.0)]
    [InlineData(Equilibration.RowsThenColumns, 1.0)]
    [InlineData(Equilibration.Rows, 0.4)]
    public void The_gradient_through_the_reparameterization_matches_finite_differences(Equilibration mode, double strength)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var w = randn(4, 3, 2, 2, dtype: float64, generator: generator);
        var g = randn(w.shape, dtype: float64, generator: generator);
        var direction = randn(w.shape, dtype: float64, generator: generator);
        // L(W) = ⟨G, W'(W)⟩; its gradient is the vector–Jacobian product the step hands to the latent weights.
        double L(Tensor x) => WeightConditioning.Conditioned(x, mode, strength).mul(g).sum().item<double>();
        var gradient = Check.Autograd(w, x => WeightConditioning.Conditioned(x, mode, strength).mul(g).sum());
        const double h = 1e-6;
        var numeric = (L(w.add(direction.mul(h))) - L(w.sub(direction.mul(h)))) / (2 * h);
        var analytic = gradient.mul(direction).sum().item<double>();
        Assert.Equal(numeric, analytic, 6);
        // Row equilibration is scale-invariant per row, so the gradient is orthogonal to each row.
        if (mode == Equilibration.Rows && strength == 1)
            Assert.True(gradient.mul(w).reshape(4, -1).sum(1).abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void A_step_moves_the_latent_weights_by_the_chain_rule_and_the_model_holds_their_conditioned_values()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(6, outputs: 2);
        var conditioning = new WeightConditioning();
        var latent = network.Snapshot();
        foreach (var i in new[] { 0, 2 }) conditioning.Condition(network.Parameters[i]);
        Assert.Equal(latent[0].data<double>().ToArray(), conditioning.Latent(network.Parameters[0])!.data<double>().ToArray());

        // By hand: SGD on the latent weights of the layer that computes with W' = D·W.
        var leaves = latent.Select(t => t.clone().requires_grad_()).ToList();
        var reference = network.Loss([WeightConditioning.Conditioned(leaves[0], Equilibration.Rows, 1), leaves[1],
            WeightConditioning.Conditioned(leaves[2], Equilibration.Rows, 1)]);
        reference.backward();
        var expected = leaves.Select(l => l.detach().sub(l.grad!.mul(0.1))).ToList();

        var loss = network.Closure().Backward();
        Assert.Equal(reference.item<double>(), loss.item<double>(), 12);
        using (no_grad()) conditioning.TransformGradients(network.Parameters, 1);
        using (no_grad()) foreach (var p in network.Parameters) p.sub_(p.grad!.mul(0.1));
        foreach (var p in network.Parameters.Where(conditioning.AppliesTo)) conditioning.Project(p, p.grad, 1, 0.1);

        Assert.True(Check.MaxRelativeDifference(network.Parameters[1], expected[1]) < 1e-12);
        foreach (var i in new[] { 0, 2 })
        {
            Assert.True(Check.MaxRelativeDifference(conditioning.Latent(network.Parameters[i])!, expected[i]) < 1e-12, $"latent {i}");
            var conditioned = WeightConditioning.Conditioned(expected[i], Equilibration.Rows, 1);
            Assert.True(Check.MaxRelativeDifference(network.Parameters[i], conditioned) < 1e-12, $"parameter {i}");
        }
    }

    [Fact]
    public void Already_equilibrated_weights_and_a_zero_share_give_the_plain_layer()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var w = randn(5, 4, dtype: float64, generator: generator);
        var unitRows = w.div(linalg.vector_norm(w, dims: [1], keepdim: true));
        Assert.True(Check.MaxRelativeDifference(WeightConditioning.Conditioned(unitRows, Equilibration.Rows, 1), unitRows) < 1e-15);
        Assert.Equal(w.data<double>().ToArray(), WeightConditioning.Conditioned(w, Equilibration.RowsThenColumns, 0).data<double>().ToArray());

        // A layer of unit rows trained under conditioning computes what the plain layer computes.
        var network = new TanhNetwork(8);
        using (no_grad()) network.First.copy_(network.First.div(linalg.vector_norm(network.First, dims: [1], keepdim: true)));
        var plain = network.Loss(network.Snapshot()).item<double>();
        new WeightConditioning().Condition(network.First);
        Assert.Equal(plain, network.Loss(network.Parameters).item<double>(), 14);
    }

    [Fact]
    public void Pruned_weights_stay_zero_and_the_other_rows_keep_unit_norm_in_regularized_steps()
    {
        using var scope = NewDisposeScope();
        var conditioning = new WeightConditioning();
        using var classifier = new PrunedClassifier(9);
        classifier.Train(conditioning, 1, momentum: 0.9);
        Assert.True(classifier.PrunedAreZero());
        var fc1 = classifier.Masks.Entries[0].Parameter;
        var norms = linalg.vector_norm(fc1.detach(), dims: [1]);
        Assert.Equal(0, norms[2].item<float>());
        Assert.True(norms.index_select(0, tensor(new long[] { 0, 1, 3, 4, 5 })).sub(1).abs().max().item<float>() < 1e-5);
        // A zero row of the latent weights has no gradient that could revive it.
        Assert.Equal(0, conditioning.Latent(fc1)![2].abs().sum().item<float>());
    }

    [Fact]
    public void In_a_user_s_loop_with_pruning_events_kernels_keep_unit_rows_and_pruned_zeros()
    {
        using var scope = NewDisposeScope();
        using var data = Topiary.Tests.Support.TinyData.Split();
        manual_seed(12);
        using var model = Topiary.Tests.Support.UserCnn.Create();
        var method = new Topiary.Methods.MagnitudePruning { CropFraction = 0.3 }.With("wcond", () => new WeightConditioning(), 1.0);
        using var session = new Topiary.Training.PruningSession(model, method,
            new Topiary.Training.PruningSessionSettings { Bound = new Topiary.Pruning.MetricFloor(0), StepsPerEpoch = 5, Patience = 3 });
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        session.Attach(optimizer);
        for (var step = 0; step < 12; step++)
        {
            using var stepScope = NewDisposeScope();
            var x = data.TrainImages.narrow(0, step * 16, 16);
            var y = data.TrainLabels.narrow(0, step * 16, 16);
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(x), y).backward();
            session.BeforeStep();
            optimizer.step();
            session.AfterStep();
            if (step is 3 or 7) Assert.True(session.Evaluate(0.5).Pruned);
        }
        foreach (var entry in session.Masks.Entries.Where(e => e.Parameter.dim() >= 2))
        {
            var rows = entry.Parameter.detach().reshape(entry.Parameter.shape[0], -1);
            Assert.Equal(0, rows.mul(entry.Mask.reshape(rows.shape).eq(0)).abs().sum().item<float>());
            var norms = linalg.vector_norm(rows, dims: [1]);
            var alive = norms.gt(0);
            Assert.True(norms.masked_select(alive).sub(1).abs().max().item<float>() < 1e-5, entry.Name);
        }
    }

    [Fact]
    public void Weights_pruned_between_steps_are_taken_into_the_latent_weights_before_the_next_forward_pass()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(10);
        var conditioning = new WeightConditioning();
        conditioning.Condition(network.First);
        using (no_grad()) network.First[1, 2] = tensor(0.0, dtype: float64);
        var model = new ParameterHolder(network.First);
        conditioning.BeforeForward(model, network.X, network.Y);
        Assert.Equal(0, conditioning.Latent(network.First)![1, 2].item<double>());
        var row = network.First.detach()[1];
        Assert.Equal(0, row[2].item<double>());
        Assert.Equal(1, linalg.vector_norm(row).item<double>(), 12);
    }

    [Fact]
    public void A_saved_state_restores_the_latent_weights()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(11);
        var first = new WeightConditioning(Equilibration.Columns);
        first.Condition(network.First);
        var resumed = new WeightConditioning(Equilibration.Columns);
        resumed.LoadState(network.Named, first.SaveState(network.Named));
        Assert.Equal(first.Latent(network.First)!.data<double>().ToArray(), resumed.Latent(network.First)!.data<double>().ToArray());
        Assert.Throws<ArgumentException>(() => resumed.LoadState(network.Named, new Dictionary<string, Tensor> { ["q9.latent"] = zeros(1) }));
    }

    [Fact]
    public void The_cli_spec_selects_the_equilibration_and_refuses_bad_values()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(Equilibration.Rows, Assert.IsType<WeightConditioning>(RegularizerSpec.Parse("wcond").Single().Regularizer).Mode);
        Assert.Equal(1.0, RegularizerSpec.Parse("wcond").Single().Strength);
        Assert.Equal(Equilibration.Columns, Assert.IsType<WeightConditioning>(RegularizerSpec.Parse("wcond:1:rows=0:columns=1").Single().Regularizer).Mode);
        Assert.Equal(Equilibration.RowsThenColumns, Assert.IsType<WeightConditioning>(RegularizerSpec.Parse("wcond:0.5:columns=1").Single().Regularizer).Mode);
        Assert.Contains("rows", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("wcond:1:rows=0")).Message);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("wcond:1:columns=2"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("wcond:1.5"));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightConditioning.Conditioned(zeros(2, 2), Equilibration.Rows, -0.1));
    }

    // A module whose only parameter is the given tensor, for BeforeForward.
    private sealed class ParameterHolder : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Parameter weight;

        public ParameterHolder(TorchSharp.Modules.Parameter weight) : base(nameof(ParameterHolder))
        {
            this.weight = weight;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => nn.functional.linear(input, weight);
    }
}
