using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Tuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

public class ImplicitHypergradientTests
{
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.2)]
    [InlineData(7.0)]
    public void Ridge_hypergradient_matches_the_closed_form_and_finite_differences_of_the_validation_loss(double multiplier)
    {
        using var scope = NewDisposeScope();
        using var ridge = new RidgeProblem();
        var lambda = multiplier * ridge.ScheduledStrength;
        ridge.SetWeights(ridge.Solution(lambda));
        using var hypergradient = new ImplicitHypergradient(ridge.Problem(), multiplier);

        var estimate = hypergradient.Estimate(1e-12);
        var analytic = ridge.AnalyticLogGradient(lambda);
        const double h = 1e-4;
        var finite = (ridge.ValidationLoss(lambda * Math.Exp(h)) - ridge.ValidationLoss(lambda * Math.Exp(-h))) / (2 * h);

        Assert.True(estimate.Converged);
        Assert.True(RelativeDifference(estimate.LogGradient, analytic) < 1e-6, $"estimate {estimate.LogGradient}, closed form {analytic}");
        Assert.True(RelativeDifference(estimate.LogGradient, finite) < 1e-6, $"estimate {estimate.LogGradient}, finite differences {finite}");
        Assert.Equal(ridge.ValidationLoss(lambda), hypergradient.ValidationLoss, 12);
    }

    [Fact]
    public void Hessian_vector_product_on_an_MLP_with_the_relevance_regularizer_equals_the_autograd_Hessian_plus_the_held_gate()
    {
        using var scope = NewDisposeScope();
        using var mlp = new SmallMlp();
        const double alpha = 0.05, multiplier = 1.7;
        var problem = mlp.Problem(new RelevanceWeightDecay(alpha), scheduledStrength: 0.3);
        using var hypergradient = new ImplicitHypergradient(problem, multiplier);
        var generator = new Generator(11);
        var v = mlp.Parameters.Select(p => randn(p.shape, dtype: float64, generator: generator)).ToArray();

        var product = hypergradient.HessianVectorProduct(v);

        // ∇²L by differentiating each component of ∇L (not the ⟨∇L, v⟩ of the implementation), and the penalty's
        // Hessian 2λ·exp(−|g|/α) (diagonal once the gate is held), with g the training gradient.
        var lambda = multiplier * 0.3;
        var flatV = cat(v.Select(t => t.flatten()).ToArray());
        var expected = mlp.LossHessian().matmul(flatV);
        var gradients = autograd.grad([mlp.TrainingLoss()], mlp.Parameters.Cast<Tensor>().ToArray());
        var offset = 0L;
        for (var j = 0; j < v.Length; j++)
        {
            var n = v[j].numel();
            if (mlp.Regularized.Contains(mlp.Parameters[j]))
            {
                var gate = gradients[j].detach().abs().div(-alpha).exp();
                expected.narrow(0, offset, n).add_(gate.mul(v[j]).mul(2 * lambda).flatten());
            }
            offset += n;
        }
        var actual = cat(product.Select(t => t.flatten()).ToArray());
        var error = actual.sub(expected).norm().item<double>() / expected.norm().item<double>();
        Assert.True(error < 1e-7, $"relative error {error}");
        Assert.Equal(1, hypergradient.HessianProducts);
    }

    [Fact]
    public void Pruned_entries_are_zero_in_every_vector_and_the_weights_and_regularizer_state_are_left_as_they_were()
    {
        using var scope = NewDisposeScope();
        using var mlp = new SmallMlp();
        using var masks = new PruningMasks(mlp.Regularized.Select((p, i) => ($"w{i}", p)));
        var generator = new Generator(5);
        using (no_grad())
        {
            foreach (var entry in masks.Entries) entry.Mask.copy_(rand(entry.Mask.shape, dtype: float64, generator: generator).gt(0.4));
        }
        masks.ApplyToWeights();
        var before = mlp.Parameters.Select(p => p.detach().clone()).ToArray();
        var regularizer = new RelevanceWeightDecay(new RelevanceGate { AlphaQuantile = 0.5, Signal = RelevanceSignal.RunningAverage });
        var named = mlp.Parameters.Select((p, i) => ($"p{i}", (Tensor)p)).ToList();
        using (no_grad())
        {
            foreach (var p in mlp.Regularized) regularizer.AddGradient(p, randn_like(p), 0.3); // a tracked α and average to keep
        }
        var stateBefore = regularizer.SaveState(named);
        Assert.NotEmpty(stateBefore);
        var problem = mlp.Problem(regularizer, 0.3, masks);
        using var hypergradient = new ImplicitHypergradient(problem, 1.0, new ImplicitHypergradientSettings { Damping = 0.1, MaxIterations = 20 });

        var v = mlp.Parameters.Select(p => randn(p.shape, dtype: float64, generator: generator)).ToArray();
        var (_, solution) = hypergradient.Estimate(1e-6, null, CancellationToken.None);
        var vectors = new Dictionary<string, IReadOnlyList<Tensor>>
        {
            ["loss gradient"] = hypergradient.LossGradient,
            ["penalty gradient"] = hypergradient.PenaltyGradientAtWeights,
            ["validation gradient"] = hypergradient.ValidationGradient,
            ["H·v"] = hypergradient.HessianVectorProduct(v),
            ["CG solution"] = solution,
            ["dw/dλ"] = hypergradient.BestResponseDirection(1e-6, CancellationToken.None).Solution,
        };
        foreach (var (name, vector) in vectors)
            for (var j = 0; j < mlp.Parameters.Count; j++)
                if (masks.Entries.FirstOrDefault(e => ReferenceEquals(e.Parameter, mlp.Parameters[j])) is { } entry)
                {
                    var leaked = vector[j].mul(entry.Mask.logical_not()).abs().max().item<double>();
                    Assert.True(leaked == 0, $"{name} is {leaked} at a pruned entry of parameter {j}");
                }
        Assert.Contains(vectors["penalty gradient"], t => t.abs().max().item<double>() > 0);
        for (var j = 0; j < before.Length; j++) Assert.True(before[j].eq(mlp.Parameters[j]).all().item<bool>(), $"parameter {j} moved");
        var stateAfter = regularizer.SaveState(named);
        Assert.Equal(stateBefore.Keys.Order(), stateAfter.Keys.Order());
        foreach (var key in stateBefore.Keys) Assert.True(stateBefore[key].eq(stateAfter[key]).all().item<bool>(), $"regularizer state {key} changed");
    }

    [Fact]
    public void A_regularizer_without_a_smooth_gradient_is_refused_by_name()
    {
        using var ridge = new RidgeProblem { Regularizer = new L1ProximalDecay() };
        var error = Assert.Throws<ArgumentException>(() => new ImplicitHypergradient(ridge.Problem(), 1.0));
        Assert.Contains("'l1'", error.Message);
        Assert.Contains("'l1'", Assert.Throws<ArgumentException>(() => new HoagTuner().Update(ridge.Problem())).Message);
        Assert.Contains("'l1'", Assert.Throws<ArgumentException>(() => new InexactBilevelTuner().Update(ridge.Problem())).Message);
        Assert.False(new RelevanceWeightDecay(new RelevanceGate { Decay = DecayCoupling.Decoupled }).IsSmoothPenalty);
        Assert.True(new RelevanceWeightDecay().IsSmoothPenalty);
    }

    [Fact]
    public void A_cancelled_token_stops_both_tuners()
    {
        using var ridge = new RidgeProblem();
        var cancelled = new CancellationToken(true);
        Assert.ThrowsAny<OperationCanceledException>(() => new HoagTuner().Update(ridge.Problem(), cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => new InexactBilevelTuner().Update(ridge.Problem(offline: false), cancelled));
        using var hypergradient = new ImplicitHypergradient(ridge.Problem(), 1.0);
        Assert.ThrowsAny<OperationCanceledException>(() => hypergradient.Estimate(1e-10, cancelled));
    }

    internal static double RelativeDifference(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-300);
}

/// <summary>A 4–6–2 tanh MLP in float64 with cross-entropy on generated data; its weight matrices are regularized.</summary>
internal sealed class SmallMlp : IDisposable
{
    private readonly Sequential model;
    private readonly Tensor inputs, targets, validInputs, validTargets;

    public SmallMlp()
    {
        var generator = new Generator(3);
        TorchSharp.torch.random.manual_seed(3);
        model = nn.Sequential(nn.Linear(4, 6, dtype: float64), nn.Tanh(), nn.Linear(6, 2, dtype: float64));
        inputs = randn(32, 4, dtype: float64, generator: generator).DetachFromDisposeScope();
        targets = inputs.narrow(1, 0, 1).add(inputs.narrow(1, 1, 1).mul(0.5)).gt(0).flatten().to(int64).DetachFromDisposeScope();
        validInputs = randn(24, 4, dtype: float64, generator: generator).DetachFromDisposeScope();
        validTargets = validInputs.narrow(1, 0, 1).add(validInputs.narrow(1, 1, 1).mul(0.5)).gt(0).flatten().to(int64).DetachFromDisposeScope();
        Parameters = model.parameters().ToList();
        Regularized = Parameters.Where(p => p.dim() == 2).ToList();
    }

    public IReadOnlyList<Parameter> Parameters { get; }
    public IReadOnlyList<Parameter> Regularized { get; }

    public Tensor TrainingLoss() => nn.functional.cross_entropy(model.forward(inputs), targets);

    public TuningProblem Problem(GradientRegularizer regularizer, double scheduledStrength, PruningMasks? masks = null) => new()
    {
        Parameters = Parameters,
        Regularized = Regularized,
        Regularizer = regularizer,
        ScheduledStrength = scheduledStrength,
        Masks = masks,
        TrainingBatches = 1,
        TrainingLoss = _ => TrainingLoss(),
        ValidationBatches = 1,
        ValidationLoss = _ => nn.functional.cross_entropy(model.forward(validInputs), validTargets),
    };

    /// <summary>The full Hessian of the training loss over the flattened parameters, row by row from each gradient component.</summary>
    public Tensor LossHessian()
    {
        var flat = Parameters.Cast<Tensor>().ToArray();
        var gradient = cat(autograd.grad([TrainingLoss()], flat, retain_graph: true, create_graph: true).Select(g => g.flatten()).ToArray());
        var n = (int)gradient.numel();
        var rows = new Tensor[n];
        for (var i = 0; i < n; i++)
            rows[i] = cat(autograd.grad([gradient[i]], flat, retain_graph: true, allow_unused: true)
                .Select((g, j) => g is null || g.IsInvalid ? zeros(flat[j].numel(), dtype: float64) : g.flatten()).ToArray());
        return stack(rows);
    }

    public void Dispose()
    {
        model.Dispose();
        foreach (var t in new[] { inputs, targets, validInputs, validTargets }) t.Dispose();
    }
}
