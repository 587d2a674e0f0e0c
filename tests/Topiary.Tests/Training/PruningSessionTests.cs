using Topiary.Checkpoints;
using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;
using Topiary.Tests.Support;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Training;

/// <summary>The pruning component inside a user's own loop, with TorchSharp's optimizers and schedules.</summary>
public class PruningSessionTests
{
    private static (Tensor Inputs, Tensor Targets) Batch(Topiary.Data.ImageClassificationData data, int step)
    {
        var start = step * 32 % (data.TrainCount - 32);
        return (data.TrainImages.narrow(0, start, 32), data.TrainLabels.narrow(0, start, 32));
    }

    private static torch.optim.Optimizer Optimizer(string name, Sequential model) => name switch
    {
        "sgd" => torch.optim.SGD(model.parameters(), 0.05, momentum: 0.9),
        "adam" => torch.optim.Adam(model.parameters(), 1e-2),
        "adamw" => torch.optim.AdamW(model.parameters(), 1e-2, weight_decay: 0.1),
        "rmsprop" => torch.optim.RMSProp(model.parameters(), 1e-3, momentum: 0.9),
        _ => throw new ArgumentException(name),
    };

    private static PruningSessionSettings Settings(double bound = 0.0) => new() { Bound = new MetricFloor(bound), StepsPerEpoch = 10, Patience = 3 };

    /// <summary>One step of a user's loop: their loss and backward, the session around their optimizer and schedule.</summary>
    private static void Step(Sequential model, torch.optim.Optimizer optimizer, PruningSession session, Tensor x, Tensor y,
        torch.optim.lr_scheduler.LRScheduler? scheduler = null)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        nn.functional.cross_entropy(model.forward(x), y).backward();
        session.BeforeStep();
        optimizer.step();
        scheduler?.step();
        session.AfterStep();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    public void TorchSharps_optimizers_under_a_schedule_keep_pruned_entries_exactly_zero_for_100_steps(string name)
    {
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = UserCnn.Create();
        var optimizer = Optimizer(name, model);
        var scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 100);
        using var session = new PruningSession(model, new RelevancePruning { CropFraction = 0.5 }, Settings());
        session.Attach(optimizer);
        model.train();
        for (var s = 0; s < 5; s++)
        {
            var (x, y) = Batch(data, s);
            Step(model, optimizer, session, x, y, scheduler);
        }
        Assert.True(session.Evaluate(0.9).Pruned);
        // The optimizer's state of every pruned entry is cleared at once, so no momentum pushes it afterwards.
        var access = (TorchSharpOptimizerAccess)session.Optimizer!;
        foreach (var e in session.Masks.Entries)
            foreach (var buffer in access.BuffersOf(e.Parameter))
                Assert.True(buffer.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{name}: optimizer state of pruned {e.Name} entries");
        for (var s = 5; s < 105; s++)
        {
            var (x, y) = Batch(data, s);
            Step(model, optimizer, session, x, y, scheduler);
            foreach (var e in session.Masks.Entries)
                Assert.True(e.Parameter.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{name}: {e.Name} has a non-zero pruned entry after step {s}");
        }
        Assert.True(session.Masks.Density is > 0.45 and < 0.55);
        Assert.NotEqual(1e-2, optimizer.ParamGroups.First().LearningRate);
    }

    [Fact]
    public void Restoring_the_best_model_brings_back_BatchNorm_running_statistics()
    {
        using var data = TinyData.Split();
        manual_seed(2);
        using var model = UserCnn.Create();
        var optimizer = torch.optim.Adam(model.parameters(), 1e-2);
        using var session = new PruningSession(model, new MagnitudePruning { CropFraction = 0.1 }, Settings(bound: 0.5));
        session.Attach(optimizer);
        model.train();
        for (var s = 0; s < 4; s++) Step(model, optimizer, session, Batch(data, s).Inputs, Batch(data, s).Targets);
        Assert.True(session.Evaluate(0.9).Selected);
        var bn = (BatchNorm2d)model.named_modules().Single(m => m.name == "bn1").module;
        using var meanAtBest = bn.running_mean!.clone();
        using var countAtBest = bn.num_batches_tracked!.clone();
        for (var s = 4; s < 10; s++) Step(model, optimizer, session, Batch(data, s).Inputs, Batch(data, s).Targets);
        Assert.False(TensorAssert.Same(bn.running_mean!, meanAtBest), "the statistics should have moved");
        Assert.False(session.Evaluate(0.1).Selected);

        session.RestoreBest();
        Assert.True(TensorAssert.Same(bn.running_mean!, meanAtBest), "BatchNorm's running mean was not restored with the weights");
        // Normalization layers are not pruned by default; a selector can include them.
        Assert.DoesNotContain(session.Masks.Entries, e => e.Name.StartsWith("bn", StringComparison.Ordinal));
        using var withNorms = new PruningSession(model, new MagnitudePruning(), Settings() with
        {
            Prunable = new LayerSelector { ModuleTypes = ["Conv2d", "Linear", "BatchNorm2d"], Scope = ParameterScope.WeightsAndBiases },
        });
        Assert.Contains(withNorms.Masks.Entries, e => e.Name == "bn1.weight");
        Assert.Equal(ScalarType.Int64, bn.num_batches_tracked!.dtype);
        Assert.Equal(countAtBest.item<long>(), bn.num_batches_tracked.item<long>());
    }

    [Fact]
    public void A_session_checkpoint_continues_exactly_with_dropout_and_a_learning_rate_schedule()
    {
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        var path = dir.File("session.ckpt");

        (Dictionary<string, Tensor> Weights, double Rate) Run(bool stopAndResume)
        {
            manual_seed(3);
            var model = UserCnn.Create(dropout: 0.5);
            var optimizer = torch.optim.Adam(model.parameters(), 1e-2);
            var scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 7, 0.5);
            var session = new PruningSession(model, new RelevancePruning { CropFraction = 0.3 }, Settings()) { Scheduler = scheduler };
            session.Attach(optimizer);
            model.train();
            for (var s = 0; s < 30; s++)
            {
                if (s == 12) session.Evaluate(0.9);
                if (s == 17 && stopAndResume)
                {
                    using (var saved = session.Capture()) saved.Save(path);
                    // A new process: everything built again from another seed, then the checkpoint.
                    manual_seed(99);
                    model = UserCnn.Create(dropout: 0.5);
                    optimizer = torch.optim.Adam(model.parameters(), 1e-2);
                    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 7, 0.5);
                    session = new PruningSession(model, new RelevancePruning { CropFraction = 0.3 }, Settings()) { Scheduler = scheduler };
                    session.Attach(optimizer);
                    model.train();
                    using var loaded = SessionCheckpoint.Load(path);
                    session.Restore(loaded);
                }
                var (x, y) = Batch(data, s);
                Step(model, optimizer, session, x, y, scheduler);
            }
            return (model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone()), optimizer.ParamGroups.First().LearningRate);
        }

        var whole = Run(stopAndResume: false);
        var resumed = Run(stopAndResume: true);
        Assert.Equal(whole.Rate, resumed.Rate);
        foreach (var (name, t) in whole.Weights) Assert.True(TensorAssert.Same(t, resumed.Weights[name]), $"{name} differs after resume");
    }

    [Fact]
    public void A_checkpoint_of_another_method_or_optimizer_is_refused_naming_it()
    {
        manual_seed(4);
        using var model = UserCnn.Create();
        var adam = torch.optim.Adam(model.parameters(), 1e-3);
        using var session = new PruningSession(model, new RelevancePruning(), Settings());
        session.Attach(adam);
        session.Evaluate(0.5);
        using var saved = session.Capture();
        using var other = new PruningSession(model, new L2Pruning(), Settings());
        other.Attach(adam);
        Assert.Contains("method", Assert.Throws<CheckpointException>(() => other.Restore(saved)).Message);
        using var sgdSession = new PruningSession(model, new RelevancePruning(), Settings());
        sgdSession.Attach(torch.optim.SGD(model.parameters(), 0.1));
        Assert.Contains("optimizer is Adam", Assert.Throws<CheckpointException>(() => sgdSession.Restore(saved)).Message);
    }

    [Fact]
    public void A_term_that_needs_the_forward_pass_refuses_BeforeStep_and_runs_through_Backward()
    {
        using var data = TinyData.Split();
        manual_seed(5);
        using var model = UserCnn.Create();
        var optimizer = torch.optim.SGD(model.parameters(), 0.05);
        var method = new RelevancePruning().With("sam", () => new SharpnessAwareMinimization(), 0.05);
        using var session = new PruningSession(model, method, Settings());
        session.Attach(optimizer);
        var (x, y) = Batch(data, 0);
        var error = Assert.Throws<InvalidOperationException>(session.BeforeStep);
        Assert.Contains("Backward", error.Message);
        optimizer.zero_grad();
        var loss = session.Backward(x, y, (output, target) => nn.functional.cross_entropy(output, target));
        optimizer.step();
        session.AfterStep();
        Assert.True(double.IsFinite(loss));
        Assert.Equal(1, session.Step);
    }

    [Fact]
    public void Evaluate_prunes_only_above_the_bound_and_patience_ends_it()
    {
        manual_seed(6);
        using var model = UserCnn.Create();
        using var session = new PruningSession(model, new MagnitudePruning { CropFraction = 0.2 }, Settings(bound: 0.8));
        session.Attach(torch.optim.SGD(model.parameters(), 0.1));
        Assert.False(session.Evaluate(0.8).Pruned);                // at the bound: selected, not pruned
        var pruned = session.Evaluate(0.85);
        Assert.True(pruned.Pruned);
        Assert.Equal(0.8, pruned.Remaining, 2);
        Assert.False(session.ShouldStop);
        for (var i = 0; i < 3; i++) session.Evaluate(0.1);
        Assert.True(session.ShouldStop);
        // The selection is the model as evaluated at 0.85, before that evaluation's crop.
        session.RestoreBest();
        Assert.Equal(1.0, session.Masks.Density);
        Assert.Equal(0.85, session.Selected!.Validation.Metric);
    }

    [Fact]
    public void The_regularizer_acts_on_the_pruned_selection_by_default()
    {
        using var data = TinyData.Split();
        Dictionary<string, Tensor> Gradients(double gamma)
        {
            manual_seed(7);
            using var model = UserCnn.Create(dropout: 0);
            var settings = Settings() with { Prunable = new LayerSelector { NamePattern = "fc*" } };
            using var session = new PruningSession(model, new L2Pruning { Gamma = gamma }, settings);
            session.Attach(torch.optim.SGD(model.parameters(), 0.1));
            var (x, y) = Batch(data, 0);
            session.Backward(x, y, (o, t) => nn.functional.cross_entropy(o, t));
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var without = Gradients(0);
        var with = Gradients(10);
        foreach (var (name, g) in without)
        {
            var changed = !TensorAssert.Same(g, with[name]);
            // The selector takes fc weights (a selector's default scope is weights): only they get ∂R/∂w.
            Assert.Equal(name.StartsWith("fc", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal), changed);
        }
    }

    [Fact]
    public void Settings_and_methods_out_of_range_name_type_and_property()
    {
        Assert.Equal("RelevancePruning.Alpha: must be a finite number > 0, got -1", Assert.Throws<PruningMethodException>(() => new RelevancePruning { Alpha = -1 }.Validate()).Message);
        Assert.StartsWith("LobsterPruning.Twt:", Assert.Throws<PruningMethodException>(() => new LobsterPruning { Twt = -1 }.Validate()).Message);
        using var model = UserCnn.Create();
        var error = Assert.Throws<PruningMethodException>(() => new PruningSession(model, new RelevancePruning(), Settings() with { StepsPerEpoch = 0 }));
        Assert.Equal("PruningSessionSettings.StepsPerEpoch", error.Setting);
        var gmp = Assert.Throws<PruningMethodException>(() => new PruningSession(model, new GradualMagnitudePruning(), Settings()));
        Assert.Equal("PruningPlan.TotalSteps", gmp.Setting);
    }

    [Fact]
    public void Methods_have_names_a_registry_and_canonical_settings()
    {
        Assert.Equal(["relevance", "l2", "l1", "none"], PruningMethodRegistry.Names.Take(4));
        Assert.Contains("gmp", PruningMethodRegistry.Names);
        Assert.IsType<LobsterPruning>(PruningMethodRegistry.Create("lobster"));
        PruningMethodRegistry.Register("test-heavy-l2", () => new L2Pruning { Gamma = 1 });
        Assert.Equal(1, ((L2Pruning)PruningMethodRegistry.Create("test-heavy-l2")).Gamma);
        Assert.Contains("unknown method 'nope'", Assert.Throws<ArgumentException>(() => PruningMethodRegistry.Create("nope")).Message);

        var fromOptions = new MethodSettings { Alpha = 0.01, Regularizers = "spectral:1e-3" }.ApplyTo(PruningMethodRegistry.Create("relevance"));
        var relevance = Assert.IsType<RelevancePruning>(fromOptions);
        Assert.Equal(0.01, relevance.Alpha);
        Assert.Equal("spectral:1e-3", Assert.Single(relevance.Extra).ToString());
        // Equal settings describe alike, whatever instances hold them; a different value does not.
        Assert.Equal(fromOptions.Describe().ToJsonString(), new MethodSettings { Alpha = 0.01, Regularizers = "spectral:1e-3" }.ApplyTo(new RelevancePruning()).Describe().ToJsonString());
        Assert.NotEqual(fromOptions.Describe().ToJsonString(), (relevance with { Alpha = 0.02 }).Describe().ToJsonString());
    }

    [Fact]
    public void The_toolkit_and_a_session_share_one_set_of_masks_per_model()
    {
        manual_seed(8);
        using var model = UserCnn.Create();
        // Pruned with the toolkit first (its default selection: weights).
        Prune.Unstructured(Prune.Attach(model), PruningAmount.OfFraction(0.5));
        using (var session = new PruningSession(model, new MagnitudePruning(), Settings()))
        {
            session.Attach(torch.optim.SGD(model.parameters(), 0.1));
            var weights = session.Masks.Entries.Where(e => e.Name.EndsWith(".weight", StringComparison.Ordinal)).ToList();
            Assert.Equal(0.5, weights.Sum(e => e.Mask.count_nonzero().item<long>()) / (double)weights.Sum(e => e.Mask.numel()), 2);
            // The toolkit now reaches the session's own masks: what it prunes, the session keeps.
            Assert.Same(session.Masks, Prune.Attach(model));
            var before = session.Masks.Remaining;
            Prune.Unstructured(Prune.Attach(model), PruningAmount.OfCount(1000));
            Assert.Equal(before - 1000, session.Masks.Remaining);
        }
        Assert.False(Prune.IsPruned(model));
    }
}
