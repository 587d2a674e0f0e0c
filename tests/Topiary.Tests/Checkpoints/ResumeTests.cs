using System.Text.Json;
using Topiary.Backend;
using Topiary.Methods;
using Topiary.Regularization;
using Topiary.Reporting;
using Topiary.Checkpoints;
using Topiary.Data;
using Topiary.Models;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Checkpoints;

public class ResumeTests
{
    private static PruningOptions Quick(string optimizer, string? regularizers = null) => new()
    {
        Method = new MethodSettings { CropFraction = 0.2, Regularizers = regularizers }.ApplyTo(new RelevancePruning()),
        TestCurve = true,
        DenseEpochs = 0, Epochs = 2, EvalEvery = 5, Floor = 0.5, BatchSize = 50, Patience = 50, Seed = 3,
        Optimizer = OptimizerOptions.Named(optimizer, optimizer switch { "sgd" => 0.05, "muon" => 0.02, "steepest" => 0.01, "scion" or "scion-constrained" or "scion-na" or "adam-spectral" => 0.02, _ => 1e-3 }),
    };

    private static (PruningOutcome Outcome, Dictionary<string, Tensor> Final) Run(ITrainingTask task, PruningOptions options,
        CheckpointOptions checkpoints, int initSeed = 1, CancellationToken token = default, PruningMethod? method = null)
    {
        manual_seed(initSeed);
        using var model = new LeNet300();
        var loop = PruningMethods.Loop(model, task, method is null ? options : options with { Method = method }, checkpoints: checkpoints);
        var outcome = loop.Run(cancellationToken: token);
        return (outcome, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone()));
    }

    [Theory]
    [InlineData("adam", null)]
    [InlineData("sgd", null)]
    // Regularizers with state (power-iteration vectors, θ₀, FISTA's previous iterate and t) must resume it too.
    [InlineData("adam", "spectral:1e-2,wasserstein:1e-2")]
    [InlineData("sgd", "scad:1e-4:fista")]
    // The data-emphasized ELBo keeps ρ, Adam's moments, τ² and its generator's state, and reads the masks each step.
    [InlineData("adam", "elbo:1:std=1e-2")]
    // The fine-tuning regularizers keep the frozen part, the factors and their Adam per weight.
    [InlineData("adam", "sorsa:1e-2:rank=4")]
    [InlineData("adam", "qgoft:1e-2:lr=5e-2")]
    // PS-KD keeps its frozen copy of the model and the epoch, GroupDRO its group weights q (the cut comes after an epoch boundary).
    [InlineData("adam", "pskd:0.8,groupdro:0.5:eta=0.1")]
    // Optimizers whose state could not be restored before (rollback and resume threw NotSupportedException).
    [InlineData("muon", null)]
    [InlineData("steepest", null)]
    [InlineData("scion", null)]
    [InlineData("scion-constrained", null)]
    [InlineData("scion-na", null)]
    [InlineData("adam-spectral", null)]
    [InlineData("fira", null)]
    // The calibrated relevance gate keeps a running average of |g| and a tracked α per tensor (issue 16).
    [InlineData("adam", null, true)]
    public void A_cancelled_and_resumed_run_ends_exactly_as_an_uninterrupted_one(string optimizer, string? regularizers, bool calibrated = false)
    {
        var method = calibrated
            ? new RelevancePruning { CropFraction = 0.2, AlphaQuantile = 0.5, Signal = RelevanceSignal.RunningAverage, Decay = DecayCoupling.Decoupled }
            : null;
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        var options = Quick(optimizer, regularizers);
        var task = new ImageClassificationTask(data);
        var (whole, wholeFinal) = Run(task, options, new CheckpointOptions { Directory = dir.File("whole") }, method: method);

        // Cancelled during step 23, between evaluations (every 5 steps): the checkpoint is taken mid-interval.
        using var cancel = new CancellationTokenSource();
        var cancelling = new PoisonedTask(task, call =>
        {
            if (call == 23) cancel.Cancel();
            return false;
        });
        var interrupted = Assert.Throws<TrainingInterruptedException>(() =>
            Run(cancelling, options, new CheckpointOptions { Directory = dir.File("cut") }, token: cancel.Token, method: method));
        Assert.Equal(23, interrupted.Step);
        Assert.Equal(Path.Combine(dir.File("cut"), CheckpointOptions.LastFileName), interrupted.CheckpointPath);

        using var saved = TrainingCheckpoint.Load(interrupted.CheckpointPath!);
        Assert.Equal(3, saved.State.LossCount);
        // A different initialization proves that everything comes from the checkpoint.
        var (resumed, resumedFinal) = Run(task, options, new CheckpointOptions { Directory = dir.File("cut"), ResumeFrom = saved }, initSeed: 99, method: method);

        Assert.Equal(whole.Trajectory, resumed.Trajectory);
        Assert.True(whole.TestTrajectory.Count >= 3, "the run should crop several times");
        Assert.Equal(whole.TestTrajectory, resumed.TestTrajectory);
        Assert.Equal(whole.SelectedStep, resumed.SelectedStep);
        Assert.Equal(whole.SelectedValidation, resumed.SelectedValidation);
        Assert.Equal(whole.StopReason, resumed.StopReason);
        if (regularizers is null) Assert.NotNull(whole.Gate);                     // relevance runs record their gate, and keep it over a resume
        Assert.Equal(JsonSerializer.Serialize(whole.Gate, ReportJson.Options), JsonSerializer.Serialize(resumed.Gate, ReportJson.Options));
        foreach (var (name, t) in wholeFinal) Assert.True(TensorAssert.Same(t, resumedFinal[name]), $"{name} differs after resume");
    }

    [Fact]
    public void A_non_finite_loss_rolls_back_to_the_last_checkpoint_with_half_the_learning_rate()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = new LeNet300();
        var task = new PoisonedTask(new ImageClassificationTask(data), call => call == 13);
        var outcome = PruningMethods.Loop(model, task, Quick("adam")).Run();

        var e = Assert.Single(outcome.Divergences);
        Assert.Equal(13, e.Step);
        Assert.Equal(10, e.RolledBackToStep);
        Assert.Equal(5e-4, e.LearningRate);
        Assert.Contains("NaN", e.Cause);
        // The run then went on over the whole budget, evaluating every 5 steps as usual.
        Assert.Equal(Enumerable.Range(0, 9).Select(i => 5L * i), outcome.Trajectory.Select(p => p.Step));
    }

    [Fact]
    public void Three_divergences_in_a_row_stop_the_run_and_leave_the_checkpoint_intact()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        manual_seed(1);
        using var model = new LeNet300();
        var task = new PoisonedTask(new ImageClassificationTask(data), call => call >= 13);
        var loop = PruningMethods.Loop(model, task, Quick("adam"), checkpoints: new CheckpointOptions { Directory = dir.Path });

        var error = Assert.Throws<DivergenceLimitException>(() => loop.Run());
        Assert.Equal(3, error.Failures);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains(dir.File(CheckpointOptions.LastFileName), error.Message);
        using var last = TrainingCheckpoint.Load(dir.File(CheckpointOptions.LastFileName));
        Assert.Equal(10, last.State.Step);
        Assert.Equal(2, last.State.Divergences.Count);
        Assert.Equal(2.5e-4, last.State.LearningRate);
    }

    [Fact]
    public void A_non_finite_gradient_is_caught_even_when_the_loss_is_finite()
    {
        using var model = new LeNet300();
        foreach (var p in model.parameters()) p.grad = zeros_like(p);
        Assert.Null(DivergenceGuard.Check(0.5, model.parameters()));
        model.parameters().Last().grad![0] = float.PositiveInfinity;
        Assert.NotNull(DivergenceGuard.Check(0.5, model.parameters()));
    }

    [Fact]
    public void Resuming_with_other_settings_is_refused_with_one_line()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        var task = new ImageClassificationTask(data);
        Run(task, Quick("adam") with { Epochs = 1 }, new CheckpointOptions { Directory = dir.Path });
        using var saved = TrainingCheckpoint.Load(dir.File(CheckpointOptions.LastFileName));
        var error = Assert.Throws<CheckpointException>(() =>
            Run(task, Quick("adam") with { Epochs = 1, Optimizer = new AdamOptions { LearningRate = 0.01 } }, new CheckpointOptions { ResumeFrom = saved }));
        Assert.Contains("other settings", error.Message);
    }

    [Fact]
    public void A_recipe_run_rolls_back_after_a_divergence_and_resumes_from_its_checkpoint()
    {
        // Record equality compares a recipe's lists by reference, and a checkpoint's options come back as new lists:
        // such a run was refused as "other settings" at its first rollback and on resume.
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        const string Json = """
            { "method": "relevance",
              "schedule": { "kind": "iterative", "crop_fraction": 0.2 },
              "select": { "module_types": ["Linear"], "name_pattern": "fc*" },
              "limits": { "default": { "max": 0.9 }, "layers": { "fc3.*": { "max": 0.5 } } } }
            """;
        PruningOptions Options() => RecipeOptions.Apply(Topiary.Pruning.Toolkit.RecipeReader.Parse(Json, "r.json", PruningMethods.Names), new PruningDefaults(Quick("adam"), new MethodSettings()));
        manual_seed(1);
        using var model = new LeNet300();
        var poisoned = new PoisonedTask(new ImageClassificationTask(data), call => call == 13);
        var outcome = PruningMethods.Loop(model, poisoned, Options(), checkpoints: new CheckpointOptions { Directory = dir.Path }).Run();
        Assert.Single(outcome.Divergences);

        using var saved = TrainingCheckpoint.Load(dir.File(CheckpointOptions.LastFileName));
        var (resumed, _) = Run(new ImageClassificationTask(data), Options(), new CheckpointOptions { ResumeFrom = saved });
        Assert.Equal(outcome.SelectedStep, resumed.SelectedStep);
    }
}
