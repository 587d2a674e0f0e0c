using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>
/// Reaches a TorchSharp optimizer's state through its public surface: <c>state_dict()</c> hands out the live
/// per-parameter state objects (Adam's <c>exp_avg</c>, SGD's <c>momentum_buffer</c>, RMSprop's <c>square_avg</c>, …) in
/// the order of <c>parameters()</c>, and their public tensor fields shaped like the parameter are its buffers; the
/// whole state, options and step counts included, round-trips through <c>save_state_dict</c>/<c>load_state_dict</c>.
/// </summary>
internal sealed class TorchSharpOptimizerAccess(torch.optim.Optimizer optimizer) : OptimizerAccess
{
    private const string StateKey = "torchsharp_state";

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

    /// <summary>TorchSharp's optimizers count their steps in their saved state.</summary>
    public override long StepCount => 0;

    public override void MaskState(Parameter parameter, Tensor mask)
    {
        using var _ = no_grad();
        foreach (var buffer in BuffersOf(parameter)) buffer.mul_(mask);
    }

    /// <summary>The state tensors of <paramref name="parameter"/> that have its shape (scalars such as step counts are left alone).</summary>
    internal IEnumerable<Tensor> BuffersOf(Parameter parameter)
    {
        var helper = Helper();
        var states = helper.state_dict().State;
        var parameters = optimizer.parameters().ToList();
        for (var i = 0; i < parameters.Count && i < states.Count; i++)
        {
            if (parameters[i].Handle != parameter.Handle) continue;
            foreach (var field in states[i].GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
                if (field.FieldType == typeof(Tensor) && field.GetValue(states[i]) is Tensor t && t.shape.SequenceEqual(parameter.shape))
                    yield return t;
            yield break;
        }
        throw new ArgumentException($"the parameter of shape [{string.Join(",", parameter.shape)}] is not optimized by this {Kind}");
    }

    public override Dictionary<string, Tensor> SaveState()
    {
        using var bytes = new MemoryStream();
        using (var writer = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true)) Helper().save_state_dict(writer);
        return new Dictionary<string, Tensor> { [StateKey] = tensor(bytes.ToArray()).clone().DetachFromDisposeScope() };
    }

    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        if (!state.TryGetValue(StateKey, out var saved) || saved.dim() != 1)
            throw new ArgumentException($"the saved optimizer state is not that of a TorchSharp optimizer (no byte tensor '{StateKey}')");
        // Version-1 checkpoint files stored every tensor as float32, which holds bytes exactly.
        using var asBytes = saved.to(ScalarType.Byte);
        var bytes = asBytes.data<byte>().ToArray();
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes));
            Helper().load_state_dict(reader);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or FormatException)
        {
            throw new ArgumentException($"the saved optimizer state does not fit this {Kind}: {e.Message.Split('\n')[0]}", e);
        }
    }

    private OptimizerHelper Helper() => optimizer as OptimizerHelper
        ?? throw new NotSupportedException($"{Kind} keeps its state in native code, which TorchSharp does not expose; use SGD, Adam, AdamW, RMSprop or another managed optimizer");
}
