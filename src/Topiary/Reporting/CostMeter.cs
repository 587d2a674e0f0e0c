using TorchSharp.Modules;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Reporting;

/// <summary>
/// Measures a <see cref="NetworkCost"/>: one forward pass of a single example with forward hooks on the
/// Linear and Conv modules records how many output positions each weight is applied at (the hooks fire
/// for modules invoked through <c>call</c>; a module invoked through <c>forward</c> directly counts as one
/// position), then the zeros of the weights give the MACs left, like Torch-Pruning's <c>count_ops_and_params</c>.
/// </summary>
public static class CostMeter
{
    /// <summary>Measures <paramref name="model"/> on <paramref name="example"/>, a batch of one sample.</summary>
    public static NetworkCost Measure(nn.Module<Tensor, Tensor> model, Tensor example)
    {
        using var scope = NewDisposeScope();
        var positions = new Dictionary<nn.Module, long>(ReferenceEqualityComparer.Instance);
        var layers = model.named_modules().Prepend(("", model))
            .Where(m => m.Item2 is Linear or Conv1d or Conv2d or Conv3d or Embedding).ToList();
        var removers = new List<Action>();
        foreach (var (_, module) in layers)
        {
            if (module is not nn.Module<Tensor, Tensor> hookable || module is Embedding) continue;
            var outputs = module switch { Linear l => l.out_features, Convolution c => c.out_channels, _ => 1 };
            if (Hook(hookable, output => positions[module] = Math.Max(1, output.numel() / Math.Max(1, output.shape[0]) / outputs)) is { } remove)
                removers.Add(remove);
        }
        var wasTraining = model.training;
        model.eval();
        using (no_grad()) model.forward(example);
        if (wasTraining) model.train();
        foreach (var remove in removers) remove();

        var rows = new List<LayerCost>();
        foreach (var (name, module) in layers)
        {
            var weight = module.named_parameters(recurse: false).FirstOrDefault(p => p.name == "weight").parameter;
            if (weight is null) continue;
            long total = 0, nonzero = 0;
            foreach (var (_, p) in module.named_parameters(recurse: false))
            {
                total += p.numel();
                nonzero += p.count_nonzero().item<long>();
            }
            var units = weight.shape[0];
            var alive = weight.detach().reshape(weight.shape[0], -1).ne(HeldScalar.Of(0)).any(1).count_nonzero().item<long>();
            var at = module is Embedding ? 0 : positions.GetValueOrDefault(module, 1);
            var denseMacs = weight.numel() * at;
            var leftMacs = weight.count_nonzero().item<long>() * at;
            rows.Add(new LayerCost(string.IsNullOrEmpty(name) ? module.GetName() : name, module.GetType().Name, weight.shape, total, nonzero,
                (double)nonzero / total, Ratio(total, nonzero), units, alive, denseMacs, leftMacs));
        }
        var (modelTotal, modelNonzero) = SparsityStatistics.Model(model);
        return new NetworkCost(modelTotal, modelNonzero, (double)modelNonzero / modelTotal, Ratio(modelTotal, modelNonzero),
            rows.Sum(r => r.Units), rows.Sum(r => r.AliveUnits), rows.Sum(r => r.DenseMacs), rows.Sum(r => r.RemainingMacs), rows);
    }

    private static double Ratio(long total, long nonzero) => nonzero == 0 ? double.PositiveInfinity : (double)total / nonzero;

    private static Action? Hook(nn.Module<Tensor, Tensor> module, Action<Tensor> record)
    {
        if (module is not nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>> hookable)
            return null;
        var handle = hookable.register_forward_hook((_, _, output) =>
        {
            record(output);
            return output;
        });
        return handle.remove;
    }
}
