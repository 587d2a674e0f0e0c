using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ProgressiveSelfDistillationTests
{
    private static Sequential Model(int seed)
    {
        manual_seed(seed);
        var model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3));
        model.to(float64);
        return model;
    }

    private static (Tensor Inputs, Tensor Targets) Batch(int seed) =>
        (randn(8, 4, dtype: float64, generator: new Generator((ulong)seed)), randint(0, 3, new long[] { 8 }, generator: new Generator((ulong)seed + 100)));

    private static Tensor Predictions(Sequential model, Tensor inputs)
    {
        using var _ = no_grad();
        model.eval();
        var p = model.forward(inputs).softmax(1);
        model.train();
        return p;
    }

    [Fact]
    public void Cross_entropy_plus_the_penalty_is_cross_entropy_with_the_soft_target_in_value_and_gradient()
    {
        using var scope = NewDisposeScope();
        var logits = randn(6, 4, dtype: float64, generator: new Generator(1)).mul(2).requires_grad_();
        var targets = tensor(new long[] { 0, 3, 1, 1, 2, 0 });
        var soft = randn(6, 4, dtype: float64, generator: new Generator(2)).softmax(1);
        const double alpha = 0.3;

        var total = nn.functional.cross_entropy(logits, targets).add(ProgressiveSelfDistillation.Penalty(logits, targets, soft, alpha));
        total.backward();

        var target = nn.functional.one_hot(targets, 4).to(float64).mul(1 - alpha).add(soft.mul(alpha));
        var expected = logits.detach().log_softmax(1).mul(target).sum(1).mean().neg();
        Assert.Equal(expected.item<double>(), total.item<double>(), 12);
        // ∂CE(z, t)/∂z = (softmax(z) − t)/B in closed form.
        var gradient = logits.detach().softmax(1).sub(target).div(6);
        Assert.True(logits.grad!.allclose(gradient, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Alpha_ramps_linearly_with_the_epoch_and_is_zero_before_the_first_boundary()
    {
        using var scope = NewDisposeScope();
        using var model = Model(1);
        var pskd = new ProgressiveSelfDistillation();
        Assert.False(pskd.HasTeacher);
        Assert.Equal(0, pskd.Alpha(0.8));
        for (var t = 2; t <= 5; t++)
        {
            pskd.OnEpoch(model, t, 5);
            Assert.Equal(0.8 * t / 5, pskd.Alpha(0.8), 15);
        }
        Assert.Throws<InvalidOperationException>(() => pskd.OnEpoch(model, 2, 0));
        Assert.Throws<InvalidOperationException>(() => pskd.OnEpoch(model, 6, 5));
    }

    [Fact]
    public void Without_a_teacher_there_is_no_penalty_and_other_targets_than_class_indices_are_refused()
    {
        using var scope = NewDisposeScope();
        using var model = Model(1);
        var (x, y) = Batch(1);
        var pskd = new ProgressiveSelfDistillation();
        pskd.BeforeForward(model, x, y);
        var outputs = model.forward(x);
        Assert.Null(pskd.LossPenalty(new RegularizationContext(model, x, y, outputs, []), 0.8));
        var soft = outputs.detach().softmax(1);
        Assert.Contains("class-index targets", Assert.Throws<ArgumentException>(() => pskd.LossPenalty(new RegularizationContext(model, x, soft, outputs, []), 0.8)).Message);
    }

    [Fact]
    public void The_teacher_is_the_model_at_the_last_epoch_boundary_and_the_model_is_left_bit_exact()
    {
        using var scope = NewDisposeScope();
        using var model = Model(2);
        var (x, y) = Batch(2);
        var pskd = new ProgressiveSelfDistillation();
        pskd.OnEpoch(model, 2, 4);
        var atBoundary = Predictions(model, x);

        // Training moves the weights between boundaries; the targets keep coming from the boundary's model.
        using (no_grad()) foreach (var p in model.parameters()) p.add_(0.3);
        var weights = model.parameters().Select(p => p.detach().clone()).ToList();
        pskd.BeforeForward(model, x, y);
        Assert.True(model.training);
        Assert.All(model.parameters().Zip(weights), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
        var outputs = model.forward(x);
        var penalty = pskd.LossPenalty(new RegularizationContext(model, x, y, outputs, []), 0.8)!;
        Assert.Equal(ProgressiveSelfDistillation.Penalty(outputs, y, atBoundary, 0.4).item<double>(), penalty.item<double>(), 12);
        Assert.NotEqual(ProgressiveSelfDistillation.Penalty(outputs, y, Predictions(model, x), 0.4).item<double>(), penalty.item<double>(), 6);

        pskd.OnEpoch(model, 3, 4);
        pskd.BeforeForward(model, x, y);
        var next = pskd.LossPenalty(new RegularizationContext(model, x, y, outputs, []), 0.8)!;
        Assert.Equal(ProgressiveSelfDistillation.Penalty(outputs, y, Predictions(model, x), 0.6).item<double>(), next.item<double>(), 12);
    }

    [Fact]
    public void In_a_session_the_teacher_is_refreshed_at_each_epoch_boundary_and_not_between()
    {
        using var scope = NewDisposeScope();
        using var model = Model(3);
        var pskd = new ProgressiveSelfDistillation();
        using var session = new PruningSession(model, new RegularizerPruning("pskd", () => pskd) { Gamma = 0.8, GammaDecay = false, CropFraction = 0.5 },
            new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 3, TotalSteps = 9 });
        using var optimizer = new AdamOptimizer(model.parameters(), 1e-2);
        session.Attach(optimizer);
        model.train();
        List<Tensor>? snapshot = null;
        for (var step = 1; step <= 9; step++)
        {
            var (x, y) = Batch(10 + step);
            session.Backward(x, y, (o, t) => nn.functional.cross_entropy(o, t));
            optimizer.Step();
            session.AfterStep();
            var teacher = pskd.SaveState([]);
            if (step < 3)
            {
                Assert.Empty(teacher);
                continue;
            }
            Assert.Equal(step / 3 + (step < 9 ? 1 : 0), pskd.Epoch);
            var teacherWeights = model.named_parameters().Select(p => teacher[$"teacher/{p.name}"]).ToList();
            if (step % 3 == 0 && step < 9) snapshot = model.parameters().Select(p => p.detach().clone()).ToList();
            // Equal to the weights at the last boundary, and (after a step) different from the current ones.
            Assert.All(teacherWeights.Zip(snapshot!), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
            if (step % 3 != 0 || step == 9)
                Assert.Contains(teacherWeights.Zip(model.parameters()), pair => !pair.First.equal(pair.Second).all().item<bool>());
        }
    }

    [Fact]
    public void The_teacher_and_the_epoch_survive_a_state_round_trip()
    {
        using var scope = NewDisposeScope();
        using var model = Model(4);
        var (x, y) = Batch(4);
        var pskd = new ProgressiveSelfDistillation();
        pskd.OnEpoch(model, 3, 5);
        var state = pskd.SaveState([]);
        using (no_grad()) foreach (var p in model.parameters()) p.mul_(0.5);

        var restored = new ProgressiveSelfDistillation();
        restored.LoadState([], state);
        Assert.Equal(3, restored.Epoch);
        Assert.Equal(pskd.Alpha(0.8), restored.Alpha(0.8));
        pskd.BeforeForward(model, x, y);
        restored.BeforeForward(model, x, y);
        var outputs = model.forward(x);
        var context = new RegularizationContext(model, x, y, outputs, []);
        Assert.Equal(pskd.LossPenalty(context, 0.8)!.item<double>(), restored.LossPenalty(context, 0.8)!.item<double>());
        Assert.Throws<ArgumentException>(() => restored.LoadState([], new Dictionary<string, Tensor> { ["q"] = ones(1) }));
    }

    [Fact]
    public void The_catalogue_entry_defaults_to_the_papers_alpha_and_refuses_more_than_one()
    {
        var term = RegularizerSpec.Parse("pskd").Single();
        Assert.IsType<ProgressiveSelfDistillation>(term.Regularizer);
        Assert.Equal(0.8, term.Strength);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("pskd:1.5"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("pskd:0.5:eta=1"));
    }
}
