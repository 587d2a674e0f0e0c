using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// Reaches a TorchSharp optimizer's state through its public surface: <c>state_dict()</c> hands out the live
/// per-parameter state objects (Adam's <c>step</c>, <c>exp_avg</c> and <c>exp_avg_sq</c>, SGD's <c>momentum_buffer</c>,
/// RMSprop's <c>square_avg</c>, …) in the order of <c>parameters()</c>. Their public fields are the state: tensors
/// shaped like the parameter are masked when entries are pruned, and every tensor and number is saved as a named
/// tensor (<c>{index}.{field}</c>) beside each parameter group's learning rate. Copies go tensor to tensor in native
/// memory; TorchSharp's own <c>save_state_dict</c> streams through a <c>BinaryWriter</c> and took 20 s for Adam on a
/// 100-million-parameter model.
/// </summary>
internal sealed class TorchSharpOptimizerAccess(torch.optim.Optimizer optimizer) : OptimizerAccess
{
    public override string Kind => optimizer.GetType().Name;

    public override void Step() => optimizer.step();

    public override void Dispose()
    {
        if (Owns) optimizer.Dispose();
    }

    public override double LearningRate => optimizer.ParamGroups.First().LearningRate;

    public override void SetLearningRate(double rate)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
    }

    public override void ScaleLearningRate(double factor)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate *= factor;
    }

    /// <summary>TorchSharp's optimizers count their steps in their own state.</summary>
    public override long StepCount => 0;

    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        foreach (var buffer in BuffersOf(parameter)) buffer.mul_(mask);
    }

    /// <summary>The state tensors of <paramref name="parameter"/> that have its shape (scalars such as step counts are left alone).</summary>
    internal IEnumerable<Tensor> BuffersOf(Parameter parameter)
    {
        var states = States();
        var parameters = optimizer.parameters().ToList();
        for (var i = 0; i < parameters.Count && i < states.Count; i++)
        {
            if (parameters[i].Handle != parameter.Handle) continue;
            foreach (var field in Fields(states[i]))
                if (field.GetValue(states[i]) is Tensor t && t.shape.SequenceEqual(parameter.shape))
                    yield return t;
            yield break;
        }
        throw new ArgumentException($"the parameter of shape [{string.Join(",", parameter.shape)}] is not optimized by this {Kind}");
    }

    public override Dictionary<string, Tensor> SaveState()
    {
        using var _ = no_grad();
        var saved = new Dictionary<string, Tensor>();
        var states = States();
        for (var i = 0; i < states.Count; i++)
            foreach (var field in Fields(states[i]))
            {
                var value = field.GetValue(states[i]);
                if (value is null) continue;
                saved[$"{i}.{field.Name}"] = value switch
                {
                    Tensor t => t.detach().clone().DetachFromDisposeScope(),
                    long l => tensor(l).DetachFromDisposeScope(),
                    int n => tensor((long)n).DetachFromDisposeScope(),
                    double d => tensor(d, dtype: float64).DetachFromDisposeScope(),
                    float f => tensor((double)f, dtype: float64).DetachFromDisposeScope(),
                    bool b => tensor(b).DetachFromDisposeScope(),
                    _ => throw new NotSupportedException($"{Kind}'s state field '{field.Name}' is a {field.FieldType.Name}, which cannot be saved"),
                };
            }
        var g = 0;
        foreach (var group in optimizer.ParamGroups)
        {
            saved[$"group{g}.lr"] = tensor(group.LearningRate, dtype: float64).DetachFromDisposeScope();
            saved[$"group{g}.initial_lr"] = tensor(group.InitialLearningRate, dtype: float64).DetachFromDisposeScope();
            g++;
        }
        return saved;
    }

    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        using var _ = no_grad();
        var used = new HashSet<string>();
        var states = States();
        for (var i = 0; i < states.Count; i++)
            foreach (var field in Fields(states[i]))
            {
                var name = $"{i}.{field.Name}";
                if (!state.TryGetValue(name, out var source))
                {
                    // A buffer the saved optimizer had not made yet (e.g. SGD's momentum before its first step).
                    if (field.FieldType == typeof(Tensor))
                    {
                        (field.GetValue(states[i]) as Tensor)?.Dispose();
                        field.SetValue(states[i], null);
                        continue;
                    }
                    throw new ArgumentException($"the saved {Kind} state lacks '{name}'");
                }
                used.Add(name);
                field.SetValue(states[i], Convert(field, source, name, field.GetValue(states[i])));
            }
        var g = 0;
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = Scalar(state, $"group{g}.lr", used);
            group.InitialLearningRate = Scalar(state, $"group{g}.initial_lr", used);
            g++;
        }
        if (state.Keys.FirstOrDefault(k => !used.Contains(k)) is { } unknown)
            throw new ArgumentException($"unknown optimizer state '{unknown}' for {Kind} (another optimizer, or other parameters)");
    }

    private object Convert(FieldInfo field, Tensor source, string name, object? current)
    {
        if (field.FieldType == typeof(Tensor))
        {
            if (current is Tensor target && target.shape.SequenceEqual(source.shape))
            {
                target.copy_(source);
                return target;
            }
            (current as Tensor)?.Dispose();
            return source.detach().clone().DetachFromDisposeScope();
        }
        if (source.numel() != 1) throw new ArgumentException($"the saved {Kind} state '{name}' is not a number");
        return field.FieldType == typeof(long) ? source.to(int64).item<long>()
            : field.FieldType == typeof(int) ? (object)(int)source.to(int64).item<long>()
            : field.FieldType == typeof(double) ? source.to(float64).item<double>()
            : field.FieldType == typeof(float) ? (float)source.to(float64).item<double>()
            : field.FieldType == typeof(bool) ? source.to(ScalarType.Bool).item<bool>()
            : throw new ArgumentException($"{Kind}'s state field '{field.Name}' is a {field.FieldType.Name}, which cannot be restored");
    }

    private double Scalar(IReadOnlyDictionary<string, Tensor> state, string name, HashSet<string> used)
    {
        if (!state.TryGetValue(name, out var value)) throw new ArgumentException($"the saved {Kind} state lacks '{name}'");
        used.Add(name);
        return value.to(float64).item<double>();
    }

    private List<OptimizerState> States() => Helper().state_dict().State.ToList();

    private static IEnumerable<FieldInfo> Fields(object state) =>
        state.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance);

    private OptimizerHelper Helper() => optimizer as OptimizerHelper
        ?? throw new NotSupportedException($"{Kind} keeps its state in native code, which TorchSharp does not expose; use SGD, Adam, AdamW, RMSprop or another managed optimizer");
}
