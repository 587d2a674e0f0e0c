using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Progressive self-knowledge distillation (PS-KD) of Kim, Ji, Yoon, Hwang, "Self-Knowledge Distillation with Progressive
/// Refinement of Targets" (ICCV 2021, seed paper #59): the model learns from the soft target
/// y_t = (1 − α_t)·y + α_t·p_{t−1}(x), the one-hot label y mixed with the model's own prediction from the previous epoch,
/// with α_t = α_T·t/T growing over the T epochs (t = 1…T). Cross-entropy is linear in its target, so
/// CE(z, y_t) = CE(z, y) + α_t·(CE(z, p_{t−1}) − CE(z, y)), and the loss penalty α_t·(CE(z, p_{t−1}) − CE(z, y)) (batch
/// means; strength = α_T) turns a mean cross-entropy task loss into PS-KD's exactly. Its gradient with respect to the logits
/// z is α_t·(y − p_{t−1})/B.
/// </summary>
/// <remarks>
/// <para>The paper stores every training example's softmax output of the last epoch and needs example indices; batches carry
/// none here, so p_{t−1} comes from a frozen copy of the model (parameters and buffers) taken when epoch t begins
/// (<see cref="GradientRegularizer.OnEpoch"/>), evaluated in eval mode before each step's forward pass
/// (<see cref="GradientRegularizer.BeforeForward"/>): an extra no-grad forward pass per step and two copies of the weights.
/// So p_{t−1} is the end-of-epoch model's prediction on the example as this step sees it, without dropout, where the paper's
/// is the prediction made when the example was last trained on, under that step's dropout and augmentation.</para>
/// <para>Until the first epoch boundary there is no teacher and α = 0 (the paper's first epoch uses p = y, which is the same).
/// Targets must be class indices (int64, one per example) and the outputs logits [batch, classes]; anything else is refused.
/// The frozen copy and the epoch travel in checkpoints (<see cref="SaveState"/>).</para>
/// </remarks>
public sealed class ProgressiveSelfDistillation : GradientRegularizer
{
    private ModuleState? teacher;
    private int epoch;
    private int epochs;
    // The teacher's probabilities for the batch of the forward pass about to run, and that batch.
    private Tensor? teacherProbabilities;
    private Tensor? teacherInputs;

    /// <inheritdoc />
    public override string Name => "pskd";

    /// <summary>The epoch being trained (1-based) as of the last <see cref="OnEpoch"/>, 0 before the first boundary.</summary>
    public int Epoch => epoch;

    /// <summary>Whether a frozen copy of the model (the previous epoch's) is held.</summary>
    public bool HasTeacher => teacher is not null;

    /// <summary>α_t = α_T·t/T for α_T = <paramref name="strength"/>; 0 without a teacher.</summary>
    public double Alpha(double strength) => teacher is null ? 0 : strength * epoch / epochs;

    /// <summary>Takes the frozen copy of <paramref name="model"/> that the epoch's targets come from.</summary>
    /// <exception cref="InvalidOperationException">The run's length is not known (<paramref name="epochs"/> = 0), or the epoch is out of range.</exception>
    public override void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs)
    {
        if (epochs <= 0)
            throw new InvalidOperationException("PS-KD needs the run's length in epochs (α_t = α_T·t/T): give the session its total steps");
        if (epoch < 1 || epoch > epochs)
            throw new InvalidOperationException($"PS-KD was told epoch {epoch} of {epochs}");
        teacher?.Dispose();
        teacher = ModuleState.Of(model);
        this.epoch = epoch;
        this.epochs = epochs;
    }

    /// <summary>The teacher's softmax on <paramref name="inputs"/>, with the model's own state put back bit-exactly afterwards.</summary>
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        teacherProbabilities?.Dispose();
        teacherProbabilities = null;
        teacherInputs = null;
        if (teacher is null) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var current = ModuleState.Of(model);
        var training = model.training;
        teacher.RestoreInto(model);
        model.eval();
        try
        {
            var outputs = model.forward(inputs);
            ClassTargets.Require(outputs, targets, "PS-KD");
            teacherProbabilities = outputs.softmax(1).detach().DetachFromDisposeScope();
            teacherInputs = inputs;
        }
        finally
        {
            current.RestoreInto(model);
            if (training) model.train();
        }
    }

    /// <summary>α_t·(CE(z, p_{t−1}) − CE(z, y)), batch means; null without a teacher or at strength 0.</summary>
    /// <exception cref="ArgumentException">The targets are not class indices, or the outputs not logits [batch, classes].</exception>
    /// <exception cref="InvalidOperationException">There is a teacher but <see cref="BeforeForward"/> did not run on this batch.</exception>
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        ClassTargets.Require(context.Outputs, context.Targets, "PS-KD");
        var alpha = Alpha(strength);
        if (alpha == 0) return null;
        if (teacherProbabilities is null || !ReferenceEquals(teacherInputs, context.Inputs))
            throw new InvalidOperationException("PS-KD's teacher predictions are taken before the forward pass: call BeforeForward(model, inputs, targets) first (RegularizedStep does)");
        return Penalty(context.Outputs, context.Targets, teacherProbabilities, alpha);
    }

    /// <summary>α·(CE(z, p) − CE(z, y)) with batch means, for logits <paramref name="outputs"/>, class indices <paramref name="targets"/> and probabilities <paramref name="soft"/>.</summary>
    public static Tensor Penalty(Tensor outputs, Tensor targets, Tensor soft, double alpha)
    {
        var logProbabilities = outputs.log_softmax(1);
        var softLoss = logProbabilities.mul(soft.to(logProbabilities.dtype)).sum(1).mean().neg();
        var hardLoss = logProbabilities.gather(1, targets.unsqueeze(1)).mean().neg();
        return softLoss.sub(hardLoss).mul(HeldScalar.Of(alpha));
    }

    /// <summary>Acts on the outputs, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();

    /// <summary>The frozen copy (<c>teacher/NAME</c>, parameters and buffers) and <c>epoch</c> = [t, T]; empty before the first boundary.</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        if (teacher is null) return state;
        foreach (var (name, t) in teacher.Tensors) state[$"teacher/{name}"] = t.clone();
        state["epoch"] = tensor(new long[] { epoch, epochs });
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Keys.FirstOrDefault(k => k != "epoch" && !k.StartsWith("teacher/", StringComparison.Ordinal)) is { } unknown)
            throw new ArgumentException($"the checkpoint holds state '{unknown}', which PS-KD does not keep");
        teacher?.Dispose();
        teacher = null;
        epoch = epochs = 0;
        if (state.Count == 0) return;
        if (!state.TryGetValue("epoch", out var saved) || saved.numel() != 2)
            throw new ArgumentException("PS-KD's checkpoint state has no epoch [t, T]");
        var (t, total) = (saved[0].item<long>(), saved[1].item<long>());
        if (t < 1 || t > total) throw new ArgumentException($"PS-KD's checkpoint state has epoch {t} of {total}");
        using (no_grad())
            teacher = ModuleState.Adopt(state.Where(p => p.Key != "epoch")
                .ToDictionary(p => p.Key["teacher/".Length..], p => p.Value.detach().clone().DetachFromDisposeScope()));
        (epoch, epochs) = ((int)t, (int)total);
    }
}
