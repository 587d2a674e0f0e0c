using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Copies of every parameter and buffer of a module by name, each in its own dtype (BatchNorm's running statistics,
/// its int64 <c>num_batches_tracked</c>, any registered buffer): what a best-model restore, a rollback or a
/// checkpoint must bring back, since weights restored beside stale statistics give another model.
/// </summary>
public sealed class ModuleState : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors;

    private ModuleState(Dictionary<string, Tensor> tensors) => this.tensors = tensors;

    /// <summary>Copies the module's parameters and buffers as they are now.</summary>
    public static ModuleState Of(nn.Module module)
    {
        using var _ = no_grad();
        var copies = new Dictionary<string, Tensor>();
        foreach (var (name, p) in module.named_parameters()) copies[name] = p.detach().clone().DetachFromDisposeScope();
        foreach (var (name, b) in module.named_buffers()) copies[name] = b.detach().clone().DetachFromDisposeScope();
        return new ModuleState(copies);
    }

    /// <summary>Takes ownership of saved tensors (e.g. read from a checkpoint), keyed by parameter or buffer name.</summary>
    public static ModuleState Adopt(Dictionary<string, Tensor> tensors) => new(tensors);

    /// <summary>The copies by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    /// <summary>Copies every saved tensor back into <paramref name="module"/>.</summary>
    /// <exception cref="ArgumentException">A name is missing on either side, or a shape differs.</exception>
    public void RestoreInto(nn.Module module) => CopyInto(tensors, module);

    /// <summary>Copies <paramref name="saved"/> (parameters and buffers by name, not owned) into <paramref name="module"/>.</summary>
    /// <exception cref="ArgumentException">A name is missing on either side, or a shape differs.</exception>
    public static void CopyInto(IReadOnlyDictionary<string, Tensor> saved, nn.Module module)
    {
        var targets = Targets(module);
        if (Mismatch(saved, targets) is { } problem) throw new ArgumentException(problem);
        using var _ = no_grad();
        foreach (var (name, target) in targets) target.copy_(saved[name]);
    }

    /// <summary>
    /// Null when <paramref name="saved"/> fits <paramref name="module"/> name for name and shape for shape (a dtype
    /// converts on copy); otherwise the first difference, e.g. <c>'bn.running_mean' is missing</c>.
    /// </summary>
    public static string? Mismatch(IReadOnlyDictionary<string, Tensor> saved, nn.Module module) => Mismatch(saved, Targets(module));

    private static string? Mismatch(IReadOnlyDictionary<string, Tensor> saved, List<(string Name, Tensor Target)> targets)
    {
        foreach (var (name, target) in targets)
        {
            if (!saved.TryGetValue(name, out var tensor)) return $"'{name}' is missing";
            if (!tensor.shape.SequenceEqual(target.shape))
                return $"'{name}' has shape [{string.Join(",", tensor.shape)}], the module's [{string.Join(",", target.shape)}]";
        }
        if (saved.Count != targets.Count)
            return $"'{saved.Keys.First(k => targets.All(t => t.Name != k))}' is not a parameter or buffer of the module";
        return null;
    }

    private static List<(string Name, Tensor Target)> Targets(nn.Module module) =>
        module.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(module.named_buffers().Select(b => (b.name, b.buffer))).ToList();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
    }
}
