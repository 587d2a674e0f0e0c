using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// LAWN, Logit Attenuating Weight Normalization, of Gupta, Ramanath, Shi, Ramachandran, Zhou, Zhou and Keerthi (arXiv 2021,
/// seed paper #38): train freely for the first E_free epochs, then hold the norm of every weight tensor of the network's
/// final homogeneous part at the value it had when the free phase ended, by projecting after every optimizer step:
/// W ← W·(1 − λ + λ·c/‖W‖_F), c = ‖W‖_F at the end of the free phase (λ = 1: the exact projection, the paper's).
/// Bounded weight norms bound the logits, so the loss cannot be driven to zero by scale alone and the network keeps moving.
/// <para>Adapted: the constraint is per weight tensor (matrices and kernels), and it applies to every one of them, as our
/// catalogue models have no normalization layers, so the homogeneous part is the whole network (biases aside, which stay
/// free). Only the abstract could be read here; the per-tensor granularity follows the abstract's "weight norms of layers".
/// The epoch count is the pruning phase's (<see cref="GradientRegularizer.OnEpoch"/>); epoch 1 until the first boundary.
/// Scaling keeps zeros zero, so pruned entries stay pruned; c is taken when the constrained phase's first step begins
/// (<see cref="AddGradient"/>, before that step moves the weights).</para>
/// </summary>
public sealed class LogitAttenuatingWeightNormalization : GradientRegularizer
{
    private readonly PerParameterTensors frozenNorms = new("", _ => []);
    private int epoch = 1;

    /// <summary>A LAWN constraint that starts when epoch <paramref name="freeEpochs"/> + 1 begins.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="freeEpochs"/> is negative.</exception>
    public LogitAttenuatingWeightNormalization(int freeEpochs)
    {
        if (freeEpochs < 0) throw new ArgumentOutOfRangeException(nameof(freeEpochs), freeEpochs, $"free must be ≥ 0, got {freeEpochs}");
        FreeEpochs = freeEpochs;
    }

    /// <summary>E_free, the epochs trained without the constraint.</summary>
    public int FreeEpochs { get; }

    /// <summary>Whether the constrained phase has begun (epoch &gt; E_free).</summary>
    public bool Constraining => epoch > FreeEpochs;

    /// <inheritdoc />
    public override string Name => "lawn";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs) => this.epoch = epoch;

    /// <summary>The norm <paramref name="weight"/> is held at, or null while it is free.</summary>
    public double? FrozenNorm(Tensor weight) => frozenNorms.TryGet(weight, out var norm) ? norm.item<double>() : null;

    /// <summary>Adds nothing to the gradient; records c = ‖W‖ at the first step of the constrained phase.</summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (!Constraining || frozenNorms.TryGet(weight, out _)) return;
        using var noGrad = no_grad();
        frozenNorms.Set(weight, weight.detach().to(ScalarType.Float64).norm());
    }

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0 || !frozenNorms.TryGet(weight, out var target)) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var norm = weight.detach().to(ScalarType.Float64).norm().item<double>();
        if (norm == 0) return;
        weight.mul_(HeldScalar.Of(1 - strength + strength * target.item<double>() / norm));
    }

    /// <summary>A hard constraint has no penalty: 0.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype).sum();

    /// <summary>c of every constrained tensor, by name, and <c>epoch</c>.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = frozenNorms.Save(parameters);
        state["epoch"] = tensor(new long[] { epoch });
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        var norms = state.Where(kv => kv.Key != "epoch").ToDictionary(kv => kv.Key, kv => kv.Value);
        PerParameterTensors.EnsureAllUsed(norms, frozenNorms.LoadFrom(norms, parameters));
        epoch = state.TryGetValue("epoch", out var saved) && saved.numel() == 1 ? checked((int)saved.item<long>()) : 1;
    }
}
