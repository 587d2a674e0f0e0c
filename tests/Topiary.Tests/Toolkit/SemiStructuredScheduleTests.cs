using Topiary.Backend;
using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

/// <summary>N:M as a method and a recipe schedule: the pattern is set once and holds exactly through the fine-tuning.</summary>
public class SemiStructuredScheduleTests
{
    [Theory]
    [InlineData(2, 4)]
    [InlineData(1, 4)]
    public void After_training_every_block_of_every_fitting_weight_keeps_exactly_N_of_M_and_biases_stay_dense(int n, int m)
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var subject = new ImageSubject("lenet300", TinyData.Split());
        var options = new PruningOptions
        {
            Method = new SemiStructuredPruning { N = n, M = m }, DenseEpochs = 1, Epochs = 3, EvalEvery = 5, Floor = 0, BatchSize = 50, Patience = 50, Seed = 3,
        };
        var result = Experiment.Run(subject, options, new Dictionary<string, object>());
        using var masks = result.Masks;
        using var model = result.Model;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var e in masks.Entries)
        {
            var weight = parameters[e.Name].detach();
            if (e.Mask.dim() < 2)
            {
                Assert.True(e.Mask.eq(1).all().item<bool>(), $"{e.Name}: a bias was pruned");
                continue;
            }
            // LeNet-300-100's rows (784, 300, 100) are all multiples of 4: every block holds exactly N, in the mask and
            // at most N non-zero weights (a kept weight may be 0 by chance, a pruned one never is).
            var blocks = e.Mask.reshape(e.Mask.shape[0], -1, m).sum(2);
            Assert.True(blocks.eq(n).all().item<bool>(), $"{e.Name}: a block does not keep exactly {n} of {m}");
            Assert.True(weight.ne(0).reshape(e.Mask.shape[0], -1, m).sum(2).le(n).all().item<bool>(), $"{e.Name}: more than {n} non-zero weights in a block");
            Assert.True(weight.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{e.Name}: a pruned weight moved");
        }
        Assert.Equal(n, result.Report.Settings!["method"]!["n"]!.GetValue<int>());
    }

    [Fact]
    public void Weights_whose_rows_do_not_fit_the_pattern_stay_dense()
    {
        using var fits = nn.Linear(8, 3);
        using var misfit = nn.Linear(6, 2);
        using var masks = new PruningMasks([("fits.weight", fits.weight!), ("fits.bias", fits.bias!), ("misfit.weight", misfit.weight!)]);
        var pruned = SemiStructuredPruner.PruneEligible(masks, 2, 4);
        Assert.Equal(["fits.weight"], pruned.Select(e => e.Name));
        Assert.Equal(12, masks.Entries[0].Mask.sum().item<float>());
        Assert.Equal(3 + 12, masks.Entries[1].Mask.sum().item<float>() + masks.Entries[2].Mask.sum().item<float>());
    }

    [Fact]
    public void A_recipe_schedules_n_of_m_and_refuses_n_not_below_m()
    {
        var recipe = RecipeReader.Parse("""{ "method": "none", "schedule": { "kind": "n-of-m", "n": 4, "m": 8 } }""", "r.json", ["none"]);
        var policy = Assert.IsType<Topiary.Pruning.Schedules.SemiStructuredPolicy>(recipe.Schedule.CreatePolicy());
        Assert.Equal((4, 8), (policy.N, policy.M));
        var e = Assert.Throws<RecipeException>(() => RecipeReader.Parse("""{ "schedule": { "kind": "n-of-m", "n": 4, "m": 4 } }""", "r.json", ["relevance"]));
        Assert.Contains("schedule.n: must be less than m (4 ≥ 4)", e.Message);
        Assert.Contains("schedule.m: is required", Assert.Throws<RecipeException>(() => RecipeReader.Parse("""{ "schedule": { "kind": "n-of-m", "n": 2 } }""", "r.json", ["relevance"])).Message);
    }

    [Fact]
    public void The_method_refuses_a_pattern_that_keeps_everything()
    {
        var e = Assert.Throws<PruningMethodException>(() => new SemiStructuredPruning { N = 4, M = 4 }.Validate());
        Assert.Equal(nameof(SemiStructuredPruning.N), e.Property);
    }
}
