using Topiary.Backend;
using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Pruning.Schedules;
using Topiary.Pruning.Toolkit;
using Topiary.Tests.Support;

namespace Topiary.Tests.Toolkit;

/// <summary>Neuron pruning as a method: whole rows and their biases go, the output layer keeps its classes, and the rows stay dead.</summary>
public class StructuredScheduleTests
{
    [Fact]
    public void Half_of_each_hidden_layers_neurons_go_with_their_biases_and_stay_dead_through_fine_tuning()
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var subject = new ImageSubject("lenet300", TinyData.Split());
        var options = new PruningOptions
        {
            Method = new StructuredPruning { TargetSparsity = 0.5 }, DenseEpochs = 1, Epochs = 2, EvalEvery = 5, Floor = 0, BatchSize = 50, Patience = 50, Seed = 3,
        };
        var result = Experiment.Run(subject, options, new Dictionary<string, object>());
        using var masks = result.Masks;
        using var model = result.Model;
        var byName = masks.Entries.ToDictionary(e => e.Name);
        var weights = masks.Entries.Where(e => e.Mask.dim() == 2).ToList();
        foreach (var weight in weights)
        {
            var rows = weight.Mask.shape[0];
            var deadRows = weight.Mask.sum(1).eq(0);
            var bias = byName[weight.Name.Replace("weight", "bias")];
            if (weight == weights[^1])
            {
                Assert.Equal(0, deadRows.sum().item<long>());   // the output layer keeps its 10 classes
                continue;
            }
            Assert.Equal(rows / 2, deadRows.sum().item<long>());
            // A row is either wholly dead (with its bias) or wholly alive: whole neurons go, not scattered weights.
            Assert.True(weight.Mask.sum(1).masked_select(deadRows.logical_not()).eq(weight.Mask.shape[1]).all().item<bool>(), $"{weight.Name}: a partly pruned row");
            Assert.True(bias.Mask.eq(deadRows.logical_not().to(bias.Mask.dtype)).all().item<bool>(), $"{weight.Name}: biases do not follow the rows");
            Assert.True(weight.Parameter.masked_select(weight.Mask.eq(0)).eq(0).all().item<bool>(), $"{weight.Name}: a pruned weight moved");
        }
    }

    [Fact]
    public void Rows_with_the_smallest_norm_go_first()
    {
        using var hidden = TorchSharp.torch.nn.Linear(3, 4);
        using var output = TorchSharp.torch.nn.Linear(4, 2);
        using (TorchSharp.torch.no_grad())
            hidden.weight!.copy_(TorchSharp.torch.tensor(new float[] { 3, 0, 0, /**/ 0.1f, 0.1f, 0.1f, /**/ 1, 1, 1, /**/ 0, 0.2f, 0 }).reshape(4, 3));
        using var masks = new Topiary.Pruning.PruningMasks([("hidden.weight", hidden.weight!), ("hidden.bias", hidden.bias!), ("output.weight", output.weight!)]);
        var context = new Topiary.Pruning.PruningContext(masks, new Topiary.Pruning.MetricFloor(0), () => default, 10, 100, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(new StructuredPolicy(0.5).AtEvaluation(context, new Topiary.Pruning.EvaluationResult(1, 0)));
        // L2 norms 3, 0.173, 1.732, 0.2: rows 1 and 3 go.
        Assert.Equal(new float[] { 1, 0, 1, 0 }, masks.Entries[1].Mask.data<float>().ToArray());
        Assert.Equal(new float[] { 1, 0, 1, 0 }, masks.Entries[0].Mask.sum(1).div(3).data<float>().ToArray());
        Assert.Equal(8, masks.Entries[2].Mask.sum().item<float>());
    }

    [Fact]
    public void A_recipe_schedules_neuron_pruning_and_the_method_refuses_a_fraction_out_of_range()
    {
        var recipe = RecipeReader.Parse("""{ "schedule": { "kind": "structured", "target_sparsity": 0.25, "norm": 1 } }""", "r.json", ["relevance"]);
        var policy = Assert.IsType<StructuredPolicy>(recipe.Schedule.CreatePolicy());
        Assert.Equal((0.25, 1.0), (policy.Fraction, policy.Norm));
        Assert.Contains("schedule.target_sparsity: is required", Assert.Throws<RecipeException>(() => RecipeReader.Parse("""{ "schedule": { "kind": "structured" } }""", "r.json", ["relevance"])).Message);
        Assert.Equal(nameof(StructuredPruning.TargetSparsity), Assert.Throws<PruningMethodException>(() => new StructuredPruning { TargetSparsity = 1 }.Validate()).Property);
    }
}
