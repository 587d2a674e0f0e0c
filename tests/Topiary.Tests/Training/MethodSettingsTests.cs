using System.Text.Json.Nodes;
using Topiary.Experiments;
using Topiary.Methods;

namespace Topiary.Tests.Training;

/// <summary>
/// The options of a run are typed per method: the settings a command line or a recipe gives land in the method's own
/// properties, the ones a method has no place for are named, and the canonical description is what checkpoints compare.
/// </summary>
public class MethodSettingsTests
{
    [Fact]
    public void Given_settings_land_in_each_methods_own_properties()
    {
        var given = new MethodSettings { Gamma = 2e-4, Alpha = 0.5, CropFraction = 0.3, TargetSparsity = 0.7, Twt = 0.2, Pwe = 3, Growth = 4, GammaDecay = false };
        var relevance = Assert.IsType<RelevancePruning>(given.ApplyTo(new RelevancePruning()));
        Assert.Equal((2e-4, 0.5, 0.3, false), (relevance.Gamma, relevance.Alpha, relevance.CropFraction, relevance.GammaDecay));
        var lobster = Assert.IsType<LobsterPruning>(given.ApplyTo(new LobsterPruning()));
        Assert.Equal((2e-4, 0.2, 3), (lobster.Lambda, lobster.Twt, lobster.Pwe));
        var hyperSparse = Assert.IsType<HyperSparsePruning>(given.ApplyTo(new HyperSparsePruning()));
        Assert.Equal((2e-4, 0.7, 4.0), (hyperSparse.Lambda, hyperSparse.TargetSparsity, hyperSparse.Growth));
        Assert.Equal(0.7, Assert.IsType<GradualMagnitudePruning>(given.ApplyTo(new GradualMagnitudePruning())).TargetSparsity);
        // Nothing given: the method's own defaults.
        Assert.Equal(new RelevancePruning().Describe().ToJsonString(), new MethodSettings().ApplyTo(new RelevancePruning()).Describe().ToJsonString());
    }

    [Fact]
    public void Settings_a_method_has_no_place_for_are_named()
    {
        var given = new MethodSettings { Alpha = 0.5, Twt = 0.2, Gamma = 1e-3 };
        Assert.Equal(["Twt"], given.NotTakenBy(new RelevancePruning()));
        Assert.Equal(["Alpha", "Twt"], given.NotTakenBy(new L2Pruning()));
        Assert.Equal(["Gamma", "Alpha", "Twt"], given.NotTakenBy(new GradualMagnitudePruning()));
        Assert.Equal(["Alpha"], given.NotTakenBy(new LobsterPruning()));
    }

    [Fact]
    public void Each_method_starts_from_its_own_defaults_under_the_models_and_the_users_settings()
    {
        var defaults = PruningDefaults.Demo with { Method = PruningDefaults.Demo.Method with { CropFraction = 0.15 } };
        var l2 = defaults.For("l2");
        Assert.Equal((1e-3, 0.15), (((L2Pruning)l2.Method).Gamma, ((L2Pruning)l2.Method).CropFraction));
        // LOBSTER's own defaults win over the model's (λ = 1e-4, SGD at lr 0.1 without momentum); the user's over both.
        var lobster = defaults.For("lobster");
        Assert.Equal(1e-4, ((LobsterPruning)lobster.Method).Lambda);
        Assert.Equal(new SgdOptions { LearningRate = 0.1, Momentum = 0 }, lobster.Optimizer);
        Assert.Equal(5e-4, ((LobsterPruning)defaults.For("lobster", new MethodSettings { Gamma = 5e-4 }).Method).Lambda);
        Assert.Equal(1000, defaults.For("hypersparse").Patience);
        Assert.Equal("Method", Assert.Throws<PruningOptionException>(() => defaults.For("l3")).Property);
    }

    [Fact]
    public void The_canonical_description_is_equal_for_equal_settings_and_differs_for_any_other()
    {
        var a = PruningDefaults.Demo.For("relevance", new MethodSettings { Regularizers = "spectral:1e-3" });
        var b = PruningDefaults.Demo.For("relevance", new MethodSettings { Regularizers = "spectral:1e-3" });
        Assert.Equal(a.Describe().ToJsonString(), b.Describe().ToJsonString());
        Assert.Equal(PruningOptions.DescriptionVersion, a.Describe()["version"]!.GetValue<int>());
        foreach (var other in new[]
        {
            a with { Seed = 2 }, a with { Optimizer = new AdamOptions { LearningRate = 2e-3 } }, a with { Optimizer = new SgdOptions { LearningRate = 1e-3 } },
            a with { Method = ((RelevancePruning)a.Method) with { Alpha = 0.5 } }, a with { Method = a.Method with { Extra = [] } }, a with { Ceiling = 3 },
        })
            Assert.NotEqual(a.Describe().ToJsonString(), other.Describe().ToJsonString());
    }

    [Fact]
    public void Settings_recorded_by_0_1_0_read_as_todays_options_for_the_same_run()
    {
        var flat = JsonNode.Parse("""
            { "method": "lobster", "gamma": 0.0002, "alpha": 1, "regularizers": null, "test_curve": false, "gamma_decay": false,
              "regularized_scope": 0, "pruned_scope": 1, "crop_fraction": 0.08, "floor": 0.5,
              "ceiling": "Infinity", "eval_every": 5, "patience": 7, "dense_epochs": 0, "epochs": 1, "batch_size": 50,
              "learning_rate": 0.1, "optimizer": "sgd", "momentum": 0, "seed": 3, "target_sparsity": 0.9, "twt": 0.1, "pwe": 2,
              "growth": 2, "recipe": null }
            """)!.AsObject();
        Assert.True(PruningOptionsV1.Holds(flat));
        var options = PruningOptionsV1.ToOptions(flat);
        var lobster = Assert.IsType<LobsterPruning>(options.Method);
        Assert.Equal((2e-4, 0.1, 2), (lobster.Lambda, lobster.Twt, lobster.Pwe));
        Assert.Equal(new SgdOptions { LearningRate = 0.1, Momentum = 0 }, options.Optimizer);
        Assert.Equal((Topiary.Pruning.ParameterScope.Weights, 0.5, 7, 3), (options.PrunedScope, options.Floor, options.Patience, options.Seed));
        // The upgrade leaves today's form alone and brings the flat one to it.
        Assert.Equal(options.Describe().ToJsonString(), PruningMethods.UpgradeRecorded(flat, options).ToJsonString());
        Assert.Same(options.Describe() is var today ? today : null, PruningMethods.UpgradeRecorded(today, options));
    }
}
