using TorchSharp.Modules;
using Topiary.Optimization;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Lottery-ticket rewinding (Frankle and Carbin, ICLR 2019; Frankle et al., ICML 2020, "Linear Mode Connectivity and
/// the Lottery Ticket Hypothesis"): the session copies every parameter at step k, and after each pruning event puts
/// those values back under the current mask and clears the optimizer's state, so the surviving weights train again
/// from step k. A crop before step k leaves the weights as they are (there is nothing to rewind to yet).
/// </summary>
internal sealed class WeightRewind(long rewindStep) : IDisposable
{
    private Dictionary<string, Tensor>? saved;

    /// <summary>k.</summary>
    public long Step => rewindStep;

    /// <summary>Whether step k has been reached and its weights kept.</summary>
    public bool HasWeights => saved is not null;

    /// <summary>Keeps the parameters when <paramref name="step"/> (steps taken so far) is k.</summary>
    public void Observe(long step, nn.Module model)
    {
        if (saved is not null || step != rewindStep) return;
        using var _ = no_grad();
        saved = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Puts step k's values back under <paramref name="masks"/> and clears <paramref name="optimizer"/>'s state; false before step k.</summary>
    public bool Rewind(nn.Module model, PruningMasks masks, OptimizerAccess optimizer)
    {
        if (saved is null) return false;
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                parameter.copy_(saved[name]);
                using var none = zeros_like(parameter);
                optimizer.MaskState(parameter, none);
            }
        }
        masks.ApplyToWeights();
        return true;
    }

    /// <summary>Copies of the kept weights by parameter name (empty before step k), for checkpoints.</summary>
    public Dictionary<string, Tensor> SaveState()
    {
        using var _ = no_grad();
        return saved?.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()) ?? [];
    }

    /// <summary>Takes the kept weights from a checkpoint (none: step k was not reached when it was written).</summary>
    /// <exception cref="ArgumentException">The weights do not fit <paramref name="model"/>.</exception>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, nn.Module model)
    {
        Dispose();
        if (state.Count == 0) return;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in parameters)
            if (!state.TryGetValue(name, out var t) || !t.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"the rewind point's weight '{name}' is missing or has the wrong shape");
        saved = parameters.Keys.ToDictionary(name => name, name => state[name].detach().clone().DetachFromDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in saved?.Values ?? Enumerable.Empty<Tensor>()) t.Dispose();
        saved = null;
    }
}
