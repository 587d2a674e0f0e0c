using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Records the input of every linear and convolution layer but the first during a forward pass (forward
/// pre-hooks), i.e. the activations that multiply each later layer's weights, for loss penalties such as the
/// FLOPs regularizer. The recorded tensors keep their graph; they are taken out of the model's dispose
/// scopes and freed by <see cref="Clear"/>.
/// </summary>
public sealed class ActivationRecorder : IDisposable
{
    private readonly List<Tensor> recorded = new();
    private readonly List<Action> removers = new();
    private bool recording;

    /// <summary>Hooks the layers of <paramref name="model"/>; <paramref name="includeFirst"/> also records the first layer's input.</summary>
    public ActivationRecorder(nn.Module model, bool includeFirst = false)
    {
        var first = !includeFirst;
        foreach (var (_, module) in model.named_modules().Prepend(("", model)))
        {
            if (module is not (Linear or Conv1d or Conv2d or Conv3d)) continue;
            var skip = first;
            Layers.Add(module);
            first = false;
            var hookable = (nn.Module<Tensor, Tensor>)module;
            var remover = hookable.register_forward_pre_hook((_, input) =>
            {
                if (!recording || skip) return input;
                // The layer consumes the recorded alias, so penalties can also differentiate with respect to it.
                var alias = input.alias().DetachFromDisposeScope();
                recorded.Add(alias);
                return alias;
            });
            removers.Add(remover.remove);
        }
    }

    /// <summary>The hooked layers, in registration order (the first is skipped unless asked for).</summary>
    public List<nn.Module> Layers { get; } = new();

    /// <summary>The activations of the last recorded forward pass, in order.</summary>
    public IReadOnlyList<Tensor> Activations => recorded;

    /// <summary>Starts recording a new forward pass (freeing the previous one).</summary>
    public void Start()
    {
        Clear();
        recording = true;
    }

    /// <summary>Stops recording.</summary>
    public void Stop() => recording = false;

    /// <summary>Frees the recorded tensors.</summary>
    public void Clear()
    {
        foreach (var t in recorded) t.Dispose();
        recorded.Clear();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Clear();
        foreach (var remove in removers) remove();
    }
}
