using TorchSharp;
using TorchSharp.Modules;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class DataEmphasizedElboTests
{
    // One step of the whole method: the regularizer's gradients, then plain SGD on the means.
    private static void Step(TanhNetwork network, DataEmphasizedElbo elbo, double strength, double learningRate = 0.05, Action? mask = null)
    {
        elbo.ComputeGradients(network.Closure(mask), strength);
        using (no_grad()) foreach (var p in network.Parameters) p.sub_(p.grad!.mul(learningRate));
        mask?.Invoke();
    }

    // y = Xw + n with XᵀX = c·I (orthogonal design), w ~ N(0, τ²I), n ~ N(0, σ²I); the loss is the mean negative
    // log-likelihood (1/N)·Σ(y_i − x_iᵀw)²/(2σ²), so that E = N (κ = 1) makes the objective the plain ELBo.
    private sealed class Regression
    {
        public Regression(int n, int d, double c, double noiseVariance, double priorVariance, int seed)
        {
            var generator = new Generator((ulong)seed);
            NoiseVariance = noiseVariance;
            C = c;
            X = Check.Orthonormal(n, d, seed).mul(Math.Sqrt(c));
            var truth = randn(d, 1, dtype: float64, generator: generator).mul(Math.Sqrt(priorVariance));
            Y = X.matmul(truth).add(randn(n, 1, dtype: float64, generator: generator).mul(Math.Sqrt(noiseVariance)));
            Weight = new Parameter(zeros(d, 1, dtype: float64));
        }

        public double NoiseVariance { get; }
        public double C { get; }
        public Tensor X { get; }
        public Tensor Y { get; }
        public Parameter Weight { get; }
        public int Examples => (int)X.shape[0];
        public int Dimensions => (int)X.shape[1];

        public Tensor Loss() => X.matmul(Weight).sub(Y).square().mean().div(2 * NoiseVariance);

        // The marginal likelihood N(y; 0, τ²XXᵀ + σ²I) has eigenvalues τ²c + σ² on the D columns of X and σ² elsewhere;
        // with z = Xᵀy/√c it is −½·[D·log(τ²c + σ²) + ‖z‖²/(τ²c + σ²)] + const, maximal at τ²c + σ² = ‖z‖²/D:
        // τ²* = ‖ŵ‖²/D − σ²/c with ŵ = Xᵀy/c the least-squares estimate.
        public double EvidenceMaximizer()
        {
            var leastSquares = X.t().matmul(Y).div(C);
            return leastSquares.square().sum().item<double>() / Dimensions - NoiseVariance / C;
        }

        // Trains m by SGD and ρ by the regularizer's Adam; returns τ² averaged over the last quarter of the steps.
        public double LearnPriorVariance(DataEmphasizedElbo elbo, int steps, double learningRate)
        {
            var closure = ObjectiveClosure.Of([Weight], Loss);
            double sum = 0;
            var averaged = 0;
            for (var t = 0; t < steps; t++)
            {
                using var scope = NewDisposeScope();
                elbo.ComputeGradients(closure, 1.0);
                using (no_grad()) Weight.sub_(Weight.grad!.mul(learningRate));
                if (t >= steps * 3 / 4)
                {
                    sum += elbo.PriorVariance;
                    averaged++;
                }
            }
            return sum / averaged;
        }
    }

    private static double Sum(IEnumerable<Tensor> tensors) => tensors.Sum(t => t.sum().item<double>());

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Each_prior_variance_is_the_closed_form_of_the_current_posterior(bool center)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(1);
        var start = network.Snapshot();
        var elbo = new DataEmphasizedElbo(centerAtStart: center, initialStd: 0.05);
        var d = network.Parameters.Sum(p => p.numel());
        for (var step = 0; step < 4; step++)
        {
            var means = network.Snapshot();
            var stds = network.Parameters.Select(p => elbo.PosteriorStd(p) ?? full_like(p, 0.05)).ToList();
            var priorMeans = center ? start : means.Select(m => zeros_like(m)).ToList();
            var expected = (Sum(means.Zip(priorMeans).Select(m => m.First.sub(m.Second).square())) + Sum(stds.Select(s => s.square()))) / d;
            Step(network, elbo, 1.0);
            Assert.Equal(expected, elbo.PriorVariance, 1e-14 * expected);
            Assert.Equal(d, elbo.WeightCount);
            Assert.Equal(d, elbo.CurrentEmphasis);
            Assert.Equal(1 / (2 * expected * d), elbo.EffectiveStrength, 1e-12 / (expected * d));
        }
        Assert.True(network.Parameters.Any(p => !TensorAssert.Same(elbo.PosteriorStd(p)!, full_like(p, 0.05))), "the stds were trained");
    }

    [Theory]
    [InlineData(null, 1.0)]
    [InlineData(7.0, 0.3)]
    public void The_gradients_of_mean_and_rho_are_autograds_of_the_loss_at_the_sample_plus_the_scaled_kl(double? emphasis, double strength)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(2);
        var elbo = new DataEmphasizedElbo(emphasis, initialStd: 0.05, learningRate: 1.0, optimizer: PosteriorStdOptimizer.Sgd, seed: 11);
        for (var step = 0; step < 2; step++) Step(network, elbo, strength);

        // The state before the step: ρ, and the generator that will draw ε.
        var state = elbo.SaveState(network.Named);
        var rho = network.Named.Select(p => state[p.Name + ".rho"].clone().requires_grad_()).ToList();
        var generator = new Generator(0);
        generator.set_state(state["#generator"]);
        var noise = network.Parameters.Select(p => randn(p.shape, dtype: float64, generator: generator)).ToList();
        var means = network.Parameters.Select(p => p.detach().clone().requires_grad_()).ToList();

        // L(m + s⊙ε) + λ·KL/E with τ² = (‖m‖² + Σs²)/D inside the graph: at that τ², ∂KL/∂τ² = 0, so the gradient is
        // the same as at a constant τ².
        var stds = rho.Select(r => nn.functional.softplus(r)).ToList();
        var d = network.Parameters.Sum(p => p.numel());
        var tau2 = means.Select(m => m.square().sum()).Concat(stds.Select(s => s.square().sum())).Aggregate((a, b) => a.add(b)).div(d);
        var kl = means.Zip(stds).Select(p => tau2.log().mul(0.5).sub(p.Second.log()).add(p.Second.square().add(p.First.square()).div(tau2.mul(2))).sub(0.5).sum())
            .Aggregate((a, b) => a.add(b));
        var objective = network.Loss(means.Zip(stds, noise).Select(t => t.First.add(t.Second.mul(t.Third))).ToList())
            .add(kl.mul(strength / (emphasis ?? d)));
        objective.backward();

        var before = network.Snapshot();
        var loss = elbo.ComputeGradients(network.Closure(), strength);
        Assert.Equal(tau2.item<double>(), elbo.PriorVariance, 1e-14);
        for (var i = 0; i < means.Count; i++)
        {
            Assert.True(TensorAssert.BitEqual(before[i], network.Parameters[i]), $"parameter {i} not restored bit-exactly");
            Assert.True(Check.MaxRelativeDifference(network.Parameters[i].grad!, means[i].grad!) < 1e-10, $"mean gradient {i}");
            // SGD at learning rate 1: ρ moved by minus its gradient.
            var moved = rho[i].detach().sub(elbo.SaveState(network.Named)[$"p{i}.rho"]);
            Assert.True(Check.MaxRelativeDifference(moved, rho[i].grad!) < 1e-9, $"ρ gradient {i}");
        }
        Assert.Equal(network.Loss(before.Zip(stds, noise).Select(t => t.First.add(t.Second.detach().mul(t.Third))).ToList()).item<double>(), loss.item<double>(), 1e-14);
    }

    [Fact]
    public void Pruned_entries_are_not_perturbed_stay_zero_and_are_not_counted()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(3);
        var masks = network.Parameters.Select(p => ones_like(p)).ToList();
        masks[0][0, 1] = tensor(0.0, dtype: float64);
        masks[0][3] = zeros(4, dtype: float64);
        masks[2][0, 2] = tensor(0.0, dtype: float64);
        void Mask()
        {
            using var _ = no_grad();
            for (var i = 0; i < masks.Count; i++) network.Parameters[i].grad?.mul_(masks[i]);
        }
        using (no_grad()) for (var i = 0; i < masks.Count; i++) network.Parameters[i].mul_(masks[i]);
        var elbo = new DataEmphasizedElbo(initialStd: 0.05, seed: 4);
        var alive = (long)Sum(masks);
        Assert.Equal(network.Parameters.Sum(p => p.numel()) - 6, alive);
        for (var step = 0; step < 3; step++)
        {
            var means = network.Snapshot();
            var stds = network.Parameters.Select(p => elbo.PosteriorStd(p) ?? full_like(p, 0.05)).ToList();
            var expected = (Sum(means.Select(m => m.square())) + Sum(stds.Zip(masks).Select(s => s.First.mul(s.Second).square()))) / alive;
            var generator = new Generator(0);
            if (step > 0) generator.set_state(elbo.SaveState(network.Named)["#generator"]);
            else generator = new Generator(4);
            var noise = network.Parameters.Select(p => randn(p.shape, dtype: float64, generator: generator)).ToList();
            var loss = elbo.ComputeGradients(network.Closure(Mask, p => masks[network.Parameters.ToList().FindIndex(q => q.Handle == p.Handle)]), 1.0);
            Assert.Equal(alive, elbo.WeightCount);
            Assert.Equal(expected, elbo.PriorVariance, 1e-14 * expected);
            for (var i = 0; i < masks.Count; i++)
            {
                Assert.True(TensorAssert.BitEqual(means[i], network.Parameters[i]), $"parameter {i} not restored bit-exactly");
                Assert.Equal(0, network.Parameters[i].grad!.mul(masks[i].logical_not()).abs().sum().item<double>());
            }
            // The loss was taken at m + s⊙ε with nothing added at pruned entries (the whole row p0[3] is pruned, so a
            // sample there would change the loss).
            var sampled = means.Select((m, i) => m.add(stds[i].mul(noise[i]).mul(masks[i]))).ToList();
            Assert.Equal(network.Loss(sampled).item<double>(), loss.item<double>(), 1e-14);
            Assert.NotEqual(network.Loss(means.Select((m, i) => m.add(stds[i].mul(noise[i]))).ToList()).item<double>(), loss.item<double>(), 1e-9);
            using (no_grad()) foreach (var p in network.Parameters) p.sub_(p.grad!.mul(0.05));
        }
        Assert.Equal(0, network.Parameters[0][3].abs().sum().item<double>());
        Assert.True(elbo.Penalty(network.Parameters[0], network.Parameters[0], 1.0).item<double>() is var kl && double.IsFinite(kl));
    }

    [Fact]
    public void With_kappa_one_on_an_orthogonal_design_the_prior_variance_approaches_the_evidence_maximizer()
    {
        using var scope = NewDisposeScope();
        var problem = new Regression(n: 20, d: 10, c: 20, noiseVariance: 1, priorVariance: 0.1, seed: 5);
        var target = problem.EvidenceMaximizer();
        Assert.True(target > 0.02, $"the data must prefer a positive τ², got {target}");
        var elbo = new DataEmphasizedElbo(emphasis: problem.Examples, initialStd: 0.1, learningRate: 1e-2, seed: 6);
        var learned = problem.LearnPriorVariance(elbo, steps: 1600, learningRate: 0.05);
        // The mean-field family holds the exact posterior (XᵀX = cI makes its covariance diagonal), so the ELBo's optimum over
        // q is the log evidence and the closed-form τ² updates are EM, whose fixed point is τ²*. What is left: SGD's
        // stationary noise in m (lr·s²/(2h) per coordinate, about 0.5% of τ²*) and the Monte Carlo noise of the average.
        // A missing 1/s term (s → 0) would take about s²/τ² ≈ 30% off τ²; E = D instead of N also misses it by far.
        Assert.True(Math.Abs(learned - target) < 0.02 * target, $"τ² = {learned}, evidence maximizer {target}");
    }

    // The paper's point: with D ≫ N the plain ELBo (κ = 1) lets the KL dominate and underfits. With the mean-field family
    // the learned τ² itself need not grow with κ (Σs² shrinks as 1/(E·H_ii) while ‖m‖² grows, and here they about cancel),
    // but the regularization the means feel, λ/(2τ²E), is much weaker and the fit much closer.
    [Fact]
    public void Emphasizing_the_data_when_there_are_more_weights_than_examples_regularizes_the_means_less_and_fits_better()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var x = randn(10, 60, dtype: float64, generator: generator);
        var y = x.matmul(randn(60, 1, dtype: float64, generator: generator));
        (double Strength, double Loss, double Norm) Learn(double? emphasis)
        {
            var weight = new Parameter(zeros(60, 1, dtype: float64));
            Tensor Loss() => x.matmul(weight).sub(y).square().mean().div(2);
            var elbo = new DataEmphasizedElbo(emphasis, initialStd: 0.05, learningRate: 5e-2, seed: 8);
            var closure = ObjectiveClosure.Of([weight], Loss);
            for (var t = 0; t < 1200; t++)
            {
                using var step = NewDisposeScope();
                elbo.ComputeGradients(closure, 1.0);
                using (no_grad()) weight.sub_(weight.grad!.mul(0.01));
            }
            return (elbo.EffectiveStrength, Loss().item<double>(), weight.square().sum().item<double>());
        }
        var plain = Learn(10);          // κ = 1: E = N
        var emphasized = Learn(null);   // κ = D/N: E = D = 60
        Assert.True(emphasized.Strength < plain.Strength / 3, $"L2 strength with κ = D/N: {emphasized.Strength}, with κ = 1: {plain.Strength}");
        Assert.True(emphasized.Loss < plain.Loss / 3, $"training loss with κ = D/N: {emphasized.Loss}, with κ = 1: {plain.Loss}");
        Assert.True(emphasized.Norm > plain.Norm, $"‖m‖² with κ = D/N: {emphasized.Norm}, with κ = 1: {plain.Norm}");
    }

    [Fact]
    public void A_run_restored_from_saved_state_in_a_fresh_instance_continues_bit_identically()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(9);
        var elbo = Assert.IsType<DataEmphasizedElbo>(RegularizerSpec.Parse("elbo:1:center:std=0.02:seed=3").Single().Regularizer);
        for (var step = 0; step < 3; step++) Step(network, elbo, 1.0);
        var state = elbo.SaveState(network.Named);
        Assert.Contains("p0.rho", state.Keys);
        Assert.Contains("p0.prior-mean", state.Keys);
        Assert.Contains("p2.rho-adam-v", state.Keys);

        // Another process: other tensors, a fresh instance.
        var copy = new TanhNetwork(9);
        using (no_grad()) for (var i = 0; i < copy.Parameters.Count; i++) copy.Parameters[i].copy_(network.Parameters[i]);
        var restored = Assert.IsType<DataEmphasizedElbo>(RegularizerSpec.Parse("elbo:1:center:std=0.02:seed=3").Single().Regularizer);
        restored.LoadState(copy.Named, state);
        Assert.Equal(elbo.PriorVariance, restored.PriorVariance);
        var cold = new TanhNetwork(9);
        using (no_grad()) for (var i = 0; i < cold.Parameters.Count; i++) cold.Parameters[i].copy_(network.Parameters[i]);
        var fresh = new DataEmphasizedElbo(centerAtStart: true, initialStd: 0.02, seed: 3);
        for (var step = 0; step < 3; step++)
        {
            Step(network, elbo, 1.0);
            Step(copy, restored, 1.0);
            Step(cold, fresh, 1.0);
        }
        Assert.Equal(elbo.PriorVariance, restored.PriorVariance);
        for (var i = 0; i < network.Parameters.Count; i++)
        {
            Assert.True(TensorAssert.BitEqual(network.Parameters[i], copy.Parameters[i]), $"parameter {i} differs after restore");
            Assert.True(TensorAssert.BitEqual(elbo.PosteriorStd(network.Parameters[i])!, restored.PosteriorStd(copy.Parameters[i])!), $"std {i} differs");
        }
        // Without the state the run goes elsewhere: the test can fail.
        Assert.Contains(Enumerable.Range(0, cold.Parameters.Count), i => !TensorAssert.BitEqual(network.Parameters[i], cold.Parameters[i]));

        Assert.Contains("does not have", Assert.Throws<ArgumentException>(() => restored.LoadState(copy.Named.Take(1).ToList(), state)).Message);
    }

    [Fact]
    public void The_catalogue_builds_it_from_a_spec_and_refuses_it_beside_another_backward_pass()
    {
        var elbo = Assert.IsType<DataEmphasizedElbo>(RegularizerCatalog.Create("elbo"));
        Assert.Null(elbo.Emphasis);
        Assert.False(elbo.CenterAtStart);
        Assert.Equal(1e-3, elbo.InitialStd);
        Assert.Equal(1e-2, elbo.LearningRate);
        Assert.Equal(PosteriorStdOptimizer.Adam, elbo.Optimizer);
        Assert.True(elbo.ReplacesBackward);
        Assert.Equal(1.0, RegularizerLibrary.Find("elbo")!.DefaultStrength);
        var term = RegularizerSpec.Parse("elbo:0.5:emphasis=100:center:std=1e-2:lr=1e-3:sgd:seed=4").Single();
        var configured = Assert.IsType<DataEmphasizedElbo>(term.Regularizer);
        Assert.Equal(0.5, term.Strength);
        Assert.Equal(100, configured.Emphasis);
        Assert.True(configured.CenterAtStart);
        Assert.Equal(1e-2, configured.InitialStd);
        Assert.Equal(1e-3, configured.LearningRate);
        Assert.Equal(PosteriorStdOptimizer.Sgd, configured.Optimizer);
        Assert.Equal(4UL, configured.Seed);
        Assert.Contains("at most one", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("elbo,sam")).Message);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("elbo:1:emphasis=0"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("elbo:1:seed=-1"));
        Assert.IsType<RegularizerPruning>(PruningMethodRegistry.Create("elbo"));
    }

    [Fact]
    public void In_a_regularized_step_the_pruning_masks_reach_it_through_the_closure()
    {
        using var scope = NewDisposeScope();
        using var classifier = new PrunedClassifier(12);
        var elbo = new DataEmphasizedElbo(initialStd: 1e-2);
        classifier.Train(elbo, 1.0);
        Assert.Equal(classifier.Parameters.Sum(p => p.numel()) - PrunedClassifier.Pruned, elbo.WeightCount);
        Assert.True(classifier.PrunedAreZero());
        Assert.True(elbo.PriorVariance > 0 && double.IsFinite(elbo.PriorVariance));
    }
}
