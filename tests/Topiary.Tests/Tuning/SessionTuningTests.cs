using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Reporting;
using Topiary.Tests.Support;
using Topiary.Training;
using Topiary.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

/// <summary>How a session and the loop use a <see cref="StrengthTuner"/>: the contract, with a scripted tuner.</summary>
public class SessionTuningTests
{
    // Doubles the multiplier at every update, and checks what it is given.
    private sealed class DoublingTuner : StrengthTuner
    {
        public List<double> ScheduledStrengths { get; } = [];
        public List<double> ValidationLosses { get; } = [];

        public override string Name => "doubling";

        public override TuningUpdate Update(TuningProblem problem, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ScheduledStrengths.Add(problem.ScheduledStrength);
            double loss;
            using (no_grad()) loss = Enumerable.Range(0, problem.ValidationBatches).Average(i => problem.ValidationLoss(i).item<float>());
            using (var training = problem.TrainingLoss(0)) Assert.True(training.requires_grad, "the training loss must be differentiable");
            Assert.NotNull(problem.Masks);
            Assert.NotEmpty(problem.Regularized);
            ValidationLosses.Add(loss);
            LogMultiplier += Math.Log(2);
            return new TuningUpdate(Multiplier, -1, loss, double.NaN, Accepted: true, HessianProducts: 0);
        }
    }

    private static StrengthTuning Doubling(DoublingTuner? tuner = null) => new("doubling", () => tuner ?? new DoublingTuner());

    private static List<(Tensor, Tensor)> Batches(Tensor images, Tensor labels, int size) =>
        Enumerable.Range(0, (int)(images.shape[0] / size)).Select(i => (images.narrow(0, i * size, size), labels.narrow(0, i * size, size))).ToList();

    private static PruningSessionSettings Settings() => new() { Bound = new MetricFloor(0), StepsPerEpoch = 10, Patience = 3 };

    [Fact]
    public void The_step_runs_with_the_tuned_multiple_of_the_scheduled_strength()
    {
        manual_seed(1);
        using var model = nn.Sequential(nn.Linear(6, 3));
        var optimizer = torch.optim.SGD(model.parameters(), 0.0);
        using var session = new PruningSession(model, new L2Pruning { Gamma = 1e-2, GammaDecay = false, Tuning = Doubling() }, Settings());
        session.Attach(optimizer);
        var weight = model.parameters().First();

        // A loss with zero gradient leaves the regularizer's gradient alone in w.grad: 2λw for L2.
        Tensor RegularizerGradient()
        {
            optimizer.zero_grad();
            model.forward(ones(1, 6)).sum().mul(0.0).backward();
            session.BeforeStep();
            return weight.grad!.clone();
        }

        using var before = RegularizerGradient();
        Assert.Equal(1e-2, session.Strength, 12);
        var batch = new List<(Tensor, Tensor)> { (randn(4, 6), tensor(new long[] { 0, 1, 2, 0 })) };
        var update = session.Tune(batch, batch, (o, t) => nn.functional.cross_entropy(o, t));
        Assert.Equal(2.0, update.Multiplier, 12);
        Assert.Equal(2e-2, session.Strength, 12);
        using var after = RegularizerGradient();
        Assert.True(after.allclose(before.mul(2.0), 1e-6, 1e-9), "the step's strength should be m·γ");
        Assert.Single(session.TuningHistory);
        Assert.Equal(1e-2, session.TuningHistory[0].ScheduledStrength, 12);
    }

    [Fact]
    public void The_loop_tunes_before_every_evaluation_after_the_first_and_reports_it()
    {
        using var data = TinyData.Split();
        manual_seed(2);
        using var model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10));
        var tuner = new DoublingTuner();
        var result = PruningRunner.Run(model,
            PruningData.From(Batches(data.TrainImages, data.TrainLabels, 50), Batches(data.ValidationImages, data.ValidationLabels, 50)),
            new PruningRunSettings
            {
                Method = new RelevancePruning { CropFraction = 0.2, GammaDecay = false, Tuning = Doubling(tuner) with { EveryEvaluations = 2 } },
                Bound = new MetricFloor(0.0),
                Epochs = 1,
                EvaluationInterval = 2,
            },
            (o, t) => nn.functional.cross_entropy(o, t), ValidationMetric.Accuracy, name: "mlp");

        var evaluations = result.Report.Trajectory.Count;
        var tuning = result.Report.Tuning!;
        // The first evaluation (step 0) is not tuned; then every second one.
        Assert.Equal((evaluations - 1) / 2, tuning.Count);
        Assert.Equal(tuning.Count, tuner.ScheduledStrengths.Count);
        for (var k = 0; k < tuning.Count; k++) Assert.Equal(Math.Pow(2, k + 1), tuning[k].Update.Multiplier, 9);
        // The trajectory's strength is the step strength: γ times the multiplier in force at that evaluation.
        var last = result.Report.Trajectory[^1];
        Assert.Equal(tuning.Last(r => r.Step <= last.Step).Update.Multiplier * 1e-3, last.Gamma, 9);
        Assert.Contains("## Tuned strength", ReportMarkdown.Render(result.Report));
        Assert.True(result.Report.Timing.TuningSeconds > 0);
    }

    [Fact]
    public void A_tuned_session_checkpoint_restores_the_multiplier_and_the_history()
    {
        manual_seed(3);
        using var model = nn.Sequential(nn.Linear(6, 3));
        var optimizer = torch.optim.SGD(model.parameters(), 0.01);
        var method = new RelevancePruning { Tuning = Doubling() };
        using var session = new PruningSession(model, method, Settings());
        session.Attach(optimizer);
        var batch = new List<(Tensor, Tensor)> { (randn(4, 6), tensor(new long[] { 0, 1, 2, 0 })) };
        session.Tune(batch, batch, (o, t) => nn.functional.cross_entropy(o, t));
        session.Tune(batch, batch, (o, t) => nn.functional.cross_entropy(o, t));
        using var saved = session.Capture();

        using var other = new PruningSession(model, method, Settings());
        other.Attach(optimizer);
        Assert.Equal(1.0, other.Tuner!.Multiplier);
        other.Restore(saved);
        Assert.Equal(4.0, other.Tuner.Multiplier, 12);
        Assert.Equal(session.TuningHistory, other.TuningHistory);
    }

    [Fact]
    public void Tuning_a_method_without_a_strength_or_a_session_without_a_tuner_is_refused()
    {
        using var model = nn.Sequential(nn.Linear(6, 3));
        var error = Assert.Throws<PruningMethodException>(() => new PruningSession(model, new MagnitudePruning { Tuning = Doubling() }, Settings()));
        Assert.Equal("MagnitudePruning.Tuning", error.Setting);
        Assert.Contains("to tune", error.Message);
        // A tuner that cannot work with the method's regularizer is refused before any training, naming both.
        var decoupled = Assert.Throws<PruningMethodException>(() => new RelevancePruning { Decay = DecayCoupling.Decoupled, Tuning = StrengthTunings.Create("hoag") }.Validate());
        Assert.Equal("RelevancePruning.Tuning", decoupled.Setting);
        Assert.Contains("hoag: regularizer 'relevance' is not a smooth penalty", decoupled.Message);
        new RelevancePruning { Decay = DecayCoupling.Decoupled, Tuning = StrengthTunings.Create("stn") }.Validate();
        var every = Assert.Throws<PruningMethodException>(() => new PruningSession(model, new L2Pruning { Tuning = Doubling() with { EveryEvaluations = 0 } }, Settings()));
        Assert.Contains("EveryEvaluations", every.Message);
        using var plain = new PruningSession(model, new L2Pruning(), Settings());
        var batch = new List<(Tensor, Tensor)> { (randn(2, 6), tensor(new long[] { 0, 1 })) };
        Assert.Throws<InvalidOperationException>(() => plain.Tune(batch, batch, (o, t) => nn.functional.cross_entropy(o, t)));
    }
}
