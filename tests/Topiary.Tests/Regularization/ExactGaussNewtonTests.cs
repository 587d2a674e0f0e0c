using TorchSharp;
using TorchSharp.Modules;
using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Tests.Support;
using Topiary.Optimization;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ExactGaussNewtonTests
{
    [Fact]
    public void The_direction_for_cross_entropy_equals_the_explicit_regularized_generalized_gauss_newton_solve()
    {
        using var scope = NewDisposeScope();
        var model = TinyNetwork(seed: 1);
        var parameters = model.parameters().ToList();
        var x = randn(5, 3, dtype: float64, generator: new Generator(2));
        var y = tensor(new long[] { 0, 2, 1, 2, 0 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        var batch = new CurvatureBatch(model, x, y, loss, _ => null);
        var system = GaussNewtonSystem.Of(batch, parameters, examples: 5);

        // A gradient with a part outside the data term, as a regularizer adds.
        var dataGradient = Flat(autograd.grad([loss(model.forward(x), y)], parameters.Cast<Tensor>().ToList()));
        var v = dataGradient.add(randn(dataGradient.shape, dtype: float64, generator: new Generator(3)).mul(0.1));
        const double lambda = 0.3;

        // Independently: J by central differences, Q_i = diag(p_i) − p_ip_iᵀ from the softmax, the 1/b of the mean.
        var j = FiniteDifferenceJacobian(model, parameters, x);
        var p = nn.functional.softmax(model.forward(x).detach(), 1);
        var h = CrossEntropyOutputHessian(p);
        var explicitStep = linalg.solve(j.t().matmul(h).matmul(j).add(eye(j.shape[1], dtype: float64).mul(lambda)), v).neg();

        Assert.True(Check.MaxRelativeDifference(system.Direction(v, lambda), explicitStep) < 1e-5);
        // Without the extra part, the paper's step −Jᵀ(QJJᵀ + bλI)⁻¹g with g = p − y.
        var g = p.sub(nn.functional.one_hot(y, 3).to(float64)).reshape(-1);
        var q = h.mul(5.0);
        var paper = j.t().matmul(linalg.solve(q.matmul(j.matmul(j.t())).add(eye(15, dtype: float64).mul(5 * lambda)), g)).neg();
        Assert.True(Check.MaxRelativeDifference(system.Direction(dataGradient, lambda), paper) < 1e-5);
    }

    [Fact]
    public void Under_masks_the_direction_is_the_gauss_newton_step_of_the_live_weights_alone()
    {
        using var scope = NewDisposeScope();
        var model = TinyNetwork(seed: 17);
        var parameters = model.parameters().ToList();
        var masks = PruneAtRandom(parameters, seed: 18, pruned: 0.3);
        var x = randn(4, 3, dtype: float64, generator: new Generator(19));
        var y = tensor(new long[] { 1, 0, 2, 1 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        var system = GaussNewtonSystem.Of(new CurvatureBatch(model, x, y, loss, p => masks[p.Handle]), parameters, examples: 4);
        var live = Flat(parameters.Select(p => masks[p.Handle]));
        var v = Flat(autograd.grad([loss(model.forward(x), y)], parameters.Cast<Tensor>().ToList())).mul(live);
        // The explicit step with the pruned columns of J removed: zero on pruned entries, the reduced solve on the rest.
        var j = FiniteDifferenceJacobian(model, parameters, x).mul(live);
        var h = CrossEntropyOutputHessian(nn.functional.softmax(model.forward(x).detach(), 1));
        const double lambda = 0.2;
        var explicitStep = linalg.solve(j.t().matmul(h).matmul(j).add(eye(j.shape[1], dtype: float64).mul(lambda)), v).neg();
        var direction = system.Direction(v, lambda);
        Assert.True(Check.MaxRelativeDifference(direction, explicitStep) < 1e-5);
        Assert.Equal(0, direction.mul(live.logical_not()).abs().max().item<double>());
    }

    [Fact]
    public void The_direction_for_least_squares_equals_minus_inverse_of_JtJ_plus_lambda_times_Jt_r()
    {
        using var scope = NewDisposeScope();
        var model = TinyNetwork(seed: 4);
        var parameters = model.parameters().ToList();
        var x = randn(4, 3, dtype: float64, generator: new Generator(5));
        var y = randn(4, 3, dtype: float64, generator: new Generator(6));
        // ½‖z − y‖²: H = I, G = r.
        Func<Tensor, Tensor, Tensor> loss = (z, t) => z.sub(t).square().sum().mul(0.5);
        var system = GaussNewtonSystem.Of(new CurvatureBatch(model, x, y, loss, _ => null), parameters, examples: 4);
        var j = FiniteDifferenceJacobian(model, parameters, x);
        var r = model.forward(x).detach().sub(y).reshape(-1);
        const double lambda = 0.05;
        var explicitStep = linalg.solve(j.t().matmul(j).add(eye(j.shape[1], dtype: float64).mul(lambda)), j.t().matmul(r)).neg();
        Assert.True(Check.MaxRelativeDifference(system.Direction(j.t().matmul(r), lambda), explicitStep) < 1e-5);
    }

    [Fact]
    public void One_step_on_linear_least_squares_with_a_small_lambda_reaches_the_least_squares_solution()
    {
        using var scope = NewDisposeScope();
        var model = nn.Linear(4, 1).to(float64);
        var x = randn(20, 4, dtype: float64, generator: new Generator(7));
        var y = randn(20, 1, dtype: float64, generator: new Generator(8));
        using var egn = new ExactGaussNewtonOptimizer(model.parameters(), learningRate: 1, momentum: 0, regularization: 1e-8,
            curvatureExamples: 20, lineSearch: false, adaptiveRegularization: false);
        // Through the training step, which hands the optimizer its batch.
        using var step = new RegularizedStep(model, egn, new NoRegularization(), Array.Empty<Parameter>(), masks: null,
            (z, t) => nn.functional.mse_loss(z, t));
        step.Run(x, y, 0);

        var design = cat([x, ones(20, 1, dtype: float64)], 1);
        var solution = linalg.lstsq(design, y).Solution.reshape(-1);
        var fitted = cat([model.weight!.detach().reshape(-1), model.bias!.detach()]);
        Assert.True(Check.MaxRelativeDifference(fitted, solution) < 1e-5);
    }

    [Fact]
    public void Momentum_steps_along_the_bias_corrected_average_of_the_gauss_newton_directions()
    {
        using var scope = NewDisposeScope();
        var model = TinyNetwork(seed: 20);
        var parameters = model.parameters().ToList();
        var x = randn(5, 3, dtype: float64, generator: new Generator(21));
        var y = tensor(new long[] { 2, 0, 1, 1, 0 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        const double beta = 0.6, eta = 0.3;
        using var egn = new ExactGaussNewtonOptimizer(parameters, eta, momentum: beta, regularization: 0.5, curvatureExamples: 5,
            lineSearch: false, adaptiveRegularization: false);
        var directions = new List<Tensor>();
        var start = Flat(parameters.Select(p => p.detach().clone()));
        for (var k = 0; k < 2; k++)
        {
            var batch = new CurvatureBatch(model, x, y, loss, _ => null);
            var gradient = Flat(autograd.grad([loss(model.forward(x), y)], parameters.Cast<Tensor>().ToList()));
            directions.Add(GaussNewtonSystem.Of(batch, parameters, 5).Direction(gradient, 0.5));
            StepOn(model, egn, x, y, loss);
        }
        // m₁ = (1−β)d₁, m₂ = βm₁ + (1−β)d₂; steps η·m₁/(1−β) and η·m₂/(1−β²).
        var m1 = directions[0].mul(1 - beta);
        var m2 = m1.mul(beta).add(directions[1].mul(1 - beta));
        var expected = start.add(m1.mul(eta / (1 - beta))).add(m2.mul(eta / (1 - beta * beta)));
        Assert.True(Check.MaxRelativeDifference(Flat(parameters.Select(p => p.detach())), expected) < 1e-10);
    }

    [Fact]
    public void On_a_quadratic_the_line_search_backtracks_to_the_first_armijo_step_and_the_exact_model_lowers_lambda()
    {
        using var scope = NewDisposeScope();
        // Linear least squares: with λ → 0 the loss along the step is f₀ + s(α − α²/2), s < 0, so the Armijo condition
        // with coefficient 0.1 holds for α ≤ 1.8: from η = 4 the trials are 4, 3.2, 2.56, 2.048, then 1.6384.
        var linear = nn.Linear(4, 1).to(float64);
        var x = randn(10, 4, dtype: float64, generator: new Generator(24));
        var y = randn(10, 1, dtype: float64, generator: new Generator(25));
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.mse_loss(z, t);
        using var egn = new ExactGaussNewtonOptimizer(linear.parameters(), learningRate: 4, momentum: 0, regularization: 1e-6, curvatureExamples: 10);
        var before = loss(linear.forward(x), y).item<double>();
        StepOn(linear, egn, x, y, loss);
        Assert.Equal(4 * Math.Pow(0.8, 4), egn.StepSize, 9);
        Assert.True(loss(linear.forward(x), y).item<double>() < before);
        // The Gauss–Newton model of a quadratic is exact, so ρ = 1 > 0.75 and λ shrinks by 0.99.
        Assert.Equal(0.99, egn.Regularization / 1e-6, 12);
    }

    [Fact]
    public void Pruned_weights_get_no_step_and_stay_exactly_zero()
    {
        using var scope = NewDisposeScope();
        var model = TinyNetwork(seed: 9);
        var parameters = model.parameters().ToList();
        var masks = PruneAtRandom(parameters, seed: 10, pruned: 0.4);
        var x = randn(8, 3, dtype: float64, generator: new Generator(11));
        var y = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        using var egn = new ExactGaussNewtonOptimizer(parameters, learningRate: 1, curvatureExamples: 6);
        var before = loss(model.forward(x), y).item<double>();
        for (var k = 0; k < 4; k++)
        {
            egn.ZeroGrad();
            loss(model.forward(x), y).backward();
            // Gradients masked as the session masks them; the weights are not re-masked after the step.
            using (no_grad()) foreach (var p in parameters) p.grad!.mul_(masks[p.Handle]);
            egn.UseBatch(new CurvatureBatch(model, x, y, loss, p => masks[p.Handle]));
            egn.Step();
            foreach (var p in parameters)
                Assert.Equal(0, p.detach().mul(masks[p.Handle].logical_not()).abs().max().item<double>());
        }
        Assert.True(loss(model.forward(x), y).item<double>() < before);
        Assert.True(egn.StepSize > 0 && egn.StepSize <= 1);
    }

    [Fact]
    public void A_checkpointed_optimizer_continues_as_the_saved_one()
    {
        using var scope = NewDisposeScope();
        var x = randn(6, 3, dtype: float64, generator: new Generator(12));
        var y = tensor(new long[] { 0, 1, 2, 2, 1, 0 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        var first = TinyNetwork(seed: 13);
        using var saved = new ExactGaussNewtonOptimizer(first.parameters(), learningRate: 1);
        StepOn(first, saved, x, y, loss);
        var second = TinyNetwork(seed: 14);
        using (no_grad()) foreach (var (a, b) in second.parameters().Zip(first.parameters())) a.copy_(b);
        using var restored = new ExactGaussNewtonOptimizer(second.parameters(), learningRate: 1);
        restored.LoadState(saved.StepCount, saved.StateBuffers());
        Assert.Equal(saved.Regularization, restored.Regularization);
        StepOn(first, saved, x, y, loss);
        StepOn(second, restored, x, y, loss);
        foreach (var (a, b) in second.parameters().Zip(first.parameters())) Assert.True(Check.MaxRelativeDifference(a, b) < 1e-12);
    }

    [Fact]
    public void Bad_settings_and_a_step_without_its_batch_give_one_line_errors()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(zeros(3));
        AssertFirstLineExplains(Assert.Throws<ArgumentOutOfRangeException>("momentum", () => new ExactGaussNewtonOptimizer([w], 1, momentum: 1)));
        AssertFirstLineExplains(Assert.Throws<ArgumentOutOfRangeException>("regularization", () => new ExactGaussNewtonOptimizer([w], 1, regularization: 0)));
        AssertFirstLineExplains(Assert.Throws<ArgumentOutOfRangeException>("regularization", () => new ExactGaussNewtonOptimizer([w], 1, regularization: double.NaN)));
        AssertFirstLineExplains(Assert.Throws<ArgumentOutOfRangeException>("curvatureExamples", () => new ExactGaussNewtonOptimizer([w], 1, curvatureExamples: 0)));
        using var egn = new ExactGaussNewtonOptimizer([w], 1);
        AssertOneLine(Assert.Throws<InvalidOperationException>(egn.Step));
        var options = Topiary.Experiments.OptimizerOptions.Named("egn", 1, momentum: 1.5);
        Assert.Equal("egn", options.Name);
        AssertOneLine(Assert.Throws<PruningOptionException>(options.Validate));
    }

    [Fact]
    public void The_authors_two_pass_step_hands_egn_its_batch_and_matches_the_single_pass()
    {
        using var scope = NewDisposeScope();
        var x = randn(12, 3, dtype: float64, generator: new Generator(17));
        var y = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2 });
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        List<Tensor> Train(bool twoPass)
        {
            var model = TinyNetwork(seed: 18);
            var parameters = model.parameters().ToList();
            using var egn = new ExactGaussNewtonOptimizer(parameters, learningRate: 1, curvatureExamples: 6);
            var single = new RegularizedStep(model, egn, new RelevanceWeightDecay(1.0), parameters, masks: null, loss);
            var two = new TwoPassStep(model, egn, new RelevanceWeightDecay(1.0), parameters, masks: null, loss);
            for (var k = 0; k < 3; k++)
                if (twoPass) two.Run(x, y, 1e-2);
                else single.Run(x, y, 1e-2);
            return [.. parameters.Select(p => p.detach().clone())];
        }
        foreach (var (a, b) in Train(twoPass: true).Zip(Train(twoPass: false))) Assert.True(Check.MaxRelativeDifference(a, b) < 1e-9);
    }

    [Fact]
    public void A_pruning_session_hands_egn_its_batch_and_egn_steps_no_pruned_entry()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(15);
        var model = nn.Sequential(("a", nn.Linear(6, 8)), ("relu", nn.ReLU()), ("b", nn.Linear(8, 3)));
        var x = randn(24, 6, generator: new Generator(16));
        var y = x.narrow(1, 0, 3).argmax(1);
        Func<Tensor, Tensor, Tensor> loss = (z, t) => nn.functional.cross_entropy(z, t);
        using var egn = new ExactGaussNewtonOptimizer(model.parameters(), learningRate: 1, curvatureExamples: 8);
        using var session = new PruningSession(model, new MagnitudePruning { CropFraction = 0.5 },
            new PruningSessionSettings { Bound = new MetricFloor(0.0), StepsPerEpoch = 10, Patience = 3 });
        session.Attach(egn);
        var first = session.Backward(x, y, loss);
        session.Optimizer!.Step();
        session.AfterStep();
        Assert.True(session.Evaluate(0.9).Pruned);
        var last = first;
        for (var k = 0; k < 3; k++)
        {
            last = session.Backward(x, y, loss);
            session.Optimizer!.Step();
            // Before the session re-masks the weights.
            foreach (var entry in session.Masks.Entries)
                Assert.Equal(0, entry.Parameter.detach().mul(entry.Mask.logical_not()).abs().max().item<float>());
            session.AfterStep();
        }
        Assert.True(last < first);
    }

    [Fact]
    public void The_cli_refuses_a_bad_egn_momentum_in_one_line()
    {
        var result = CliProcess.Run("prune", "--optimizer", "egn", "--momentum", "1.5", "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("must lie in [0, 1), got 1.5", Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    private static void StepOn(nn.Module<Tensor, Tensor> model, ExactGaussNewtonOptimizer egn, Tensor x, Tensor y, Func<Tensor, Tensor, Tensor> loss)
    {
        egn.ZeroGrad();
        loss(model.forward(x), y).backward();
        egn.UseBatch(new CurvatureBatch(model, x, y, loss, _ => null));
        egn.Step();
    }

    private static void AssertOneLine(Exception e) => Assert.DoesNotContain('\n', e.Message);

    // .NET appends "Actual value was …" on a second line; the first names the setting and says what is wrong.
    private static void AssertFirstLineExplains(ArgumentOutOfRangeException e) =>
        Assert.Matches($"must .*\\(Parameter '{e.ParamName}'\\)$", e.Message.Split('\n')[0]);

    private static nn.Module<Tensor, Tensor> TinyNetwork(int seed)
    {
        random.manual_seed(seed);
        return nn.Sequential(("a", nn.Linear(3, 4)), ("tanh", nn.Tanh()), ("b", nn.Linear(4, 3))).to(float64);
    }

    // Zeros about a fraction `pruned` of every parameter's entries; returns the 0/1 masks by handle.
    private static Dictionary<IntPtr, Tensor> PruneAtRandom(IReadOnlyList<Parameter> parameters, ulong seed, double pruned)
    {
        var masks = parameters.ToDictionary(p => p.Handle, p => rand(p.shape, dtype: float64, generator: new Generator(seed)).gt(pruned).to(float64));
        using (no_grad()) foreach (var p in parameters) p.mul_(masks[p.Handle]);
        return masks;
    }

    // ∂²L/∂z² of the mean cross-entropy over b examples with probabilities p: blocks (diag(p_i) − p_ip_iᵀ)/b.
    private static Tensor CrossEntropyOutputHessian(Tensor p)
    {
        var b = (int)p.shape[0];
        return block_diag(Enumerable.Range(0, b).Select(i => diag(p[i]).sub(outer(p[i], p[i])).div((double)b)).ToArray());
    }

    private static Tensor Flat(IEnumerable<Tensor> tensors) => cat(tensors.Select(t => t.reshape(-1)).ToList());

    // ∂z/∂w by central differences, one column per parameter entry, rows in (example, output) order.
    private static Tensor FiniteDifferenceJacobian(nn.Module<Tensor, Tensor> model, IReadOnlyList<Parameter> parameters, Tensor x)
    {
        const double h = 1e-6;
        var columns = new List<Tensor>();
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            var flat = p.view(-1);
            for (var e = 0; e < flat.shape[0]; e++)
            {
                var original = flat[e].item<double>();
                flat[e] = original + h;
                var plus = model.forward(x).reshape(-1);
                flat[e] = original - h;
                var minus = model.forward(x).reshape(-1);
                flat[e] = original;
                columns.Add(plus.sub(minus).div(2 * h));
            }
        }
        return stack(columns, 1);
    }
}
