using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// Carries out a <see cref="SizeProtocol"/> around the pruning events of a <see cref="PruningLoop"/>: before each event
/// it copies the whole model, its masks and the random generator; when the event crosses target sizes, it puts the copy
/// back, crops it to each size, fine-tunes and measures it, and finally restores the state after the event, so that the
/// run goes on bit for bit as it would without the probe. Its results travel in the checkpoints' annotations.
/// </summary>
internal sealed class SizeForSizeProbe(nn.Module<Tensor, Tensor> model, PruningMasks masks, ITrainingTask task, SizeProtocol? protocol, int batchSize, int seed)
{
    private const string AnnotationKey = "size_for_size";
    private readonly List<SizeResult> results = [];

    /// <summary>The sizes measured so far, largest first.</summary>
    public IReadOnlyList<SizeResult> Results => results;

    /// <summary>Wall-clock time of the copies, fine-tuning and evaluations: the protocol's cost.</summary>
    public double Seconds { get; private set; }

    /// <summary>Runs <paramref name="prune"/> (a policy call); when it crossed sizes not measured yet, measures them.</summary>
    public bool Around(long step, Func<bool> prune)
    {
        if (protocol is null || results.Count == protocol.Sizes.Count) return prune();
        var clock = Stopwatch.StartNew();
        using var before = new ModelState(model, masks);
        var remainingBefore = Remaining();
        clock.Stop();
        if (!prune())
        {
            Seconds += clock.Elapsed.TotalSeconds;
            return false;
        }
        clock.Start();
        var remainingAfter = Remaining();
        var crossed = protocol.Sizes.Skip(results.Count).TakeWhile(s => s >= remainingAfter).ToList();
        if (crossed.Count > 0)
        {
            using var after = new ModelState(model, masks);
            foreach (var size in crossed)
            {
                before.Restore();
                results.Add(Measure(step, size, remainingBefore));
            }
            after.Restore();
        }
        Seconds += clock.Elapsed.TotalSeconds;
        return true;
    }

    private SizeResult Measure(long step, double size, double remainingBefore)
    {
        var (total, nonzero) = SparsityStatistics.Model(model);
        var keep = (long)Math.Round(size * total);
        if (nonzero > keep) GlobalMagnitudePruner.PruneCount(masks, nonzero - keep);
        var cropped = Remaining();
        FineTune();
        var validation = task.Validate(model);
        var test = task.Test(model);
        return new SizeResult(size, step, remainingBefore, cropped, validation.Metric, validation.Loss, test.Metric, protocol!.FineTuneSteps);
    }

    /// <summary>Plain loss, Adam, the masks fixed: the same steps for every method, in the run's batch order from its first epoch.</summary>
    private void FineTune()
    {
        if (protocol!.FineTuneSteps == 0) return;
        using var optimizer = new AdamOptimizer(model.parameters().ToList(), protocol.LearningRate);
        var steps = 0;
        for (var epoch = 0; steps < protocol.FineTuneSteps; epoch++)
            foreach (var (inputs, targets) in task.EpochBatches(seed, epoch, batchSize))
            {
                using (var scope = NewDisposeScope())
                {
                    using (inputs)
                    using (targets)
                    {
                        optimizer.ZeroGrad();
                        var loss = task.Loss(model.forward(inputs), targets);
                        loss.backward();
                        masks.ApplyToGradients();
                        optimizer.Step();
                        masks.ApplyToWeights();
                    }
                }
                if (++steps == protocol.FineTuneSteps) break;
            }
    }

    private double Remaining()
    {
        var (total, nonzero) = SparsityStatistics.Model(model);
        return (double)nonzero / total;
    }

    /// <summary><paramref name="annotations"/> plus the results, so that a checkpoint carries them.</summary>
    public JsonObject AddTo(JsonObject annotations)
    {
        if (protocol is not null) annotations[AnnotationKey] = JsonSerializer.SerializeToNode(results, ReportJson.Options);
        return annotations;
    }

    /// <summary>Takes the results from a checkpoint's annotations.</summary>
    public void LoadFrom(JsonObject annotations)
    {
        results.Clear();
        if (annotations[AnnotationKey] is JsonArray saved) results.AddRange(saved.Deserialize<List<SizeResult>>(ReportJson.Options) ?? []);
    }

    /// <summary>
    /// Every parameter and buffer of the model (fine-tuning moves batch-norm statistics too), its masks and the random
    /// generator, to be put back exactly.
    /// </summary>
    private sealed class ModelState : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> model;
        private readonly MaskedWeightsBackup maskedWeights;
        private readonly Dictionary<string, Tensor> parameters;
        private readonly Dictionary<string, Tensor> buffers;
        private readonly Tensor random;

        public ModelState(nn.Module<Tensor, Tensor> model, PruningMasks masks)
        {
            this.model = model;
            using var _ = no_grad();
            maskedWeights = new MaskedWeightsBackup(masks);
            parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
            buffers = model.named_buffers().ToDictionary(b => b.name, b => b.buffer.detach().clone().DetachFromDisposeScope());
            random = RandomGeneratorState.Save();
        }

        public void Restore()
        {
            using (no_grad())
            {
                foreach (var (name, parameter) in model.named_parameters()) parameter.copy_(parameters[name]);
                foreach (var (name, buffer) in model.named_buffers()) buffer.copy_(buffers[name]);
            }
            maskedWeights.Restore();
            RandomGeneratorState.Load(random);
        }

        public void Dispose()
        {
            maskedWeights.Dispose();
            foreach (var tensor in parameters.Values.Concat(buffers.Values)) tensor.Dispose();
            random.Dispose();
        }
    }
}
