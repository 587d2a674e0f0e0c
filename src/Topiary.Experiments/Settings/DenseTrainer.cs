using Topiary.Backend;
using Topiary.Optimization;
using Topiary.Regularization;
using static TorchSharp.torch;
using Topiary.Training;

namespace Topiary.Experiments;

/// <summary>Plain training of the dense starting point (no regularizer, no masks), as the authors' "noreg" checkpoints.</summary>
public static class DenseTrainer
{
    /// <summary>
    /// Trains <paramref name="model"/> for <see cref="PruningOptions.DenseEpochs"/> epochs, the learning rate following
    /// <see cref="PruningOptions.DenseSchedule"/>; returns the per-step times in ms.
    /// </summary>
    public static IReadOnlyList<double> Train(nn.Module<Tensor, Tensor> model, ITrainingTask task, PruningOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        TorchBackend.EnsureVerified();
        var times = new List<double>();
        if (options.DenseEpochs == 0) return times;
        using var optimizer = options.Optimizer.Create(model.parameters());
        var step = new RegularizedStep(model, optimizer, new NoRegularization(), Array.Empty<TorchSharp.Modules.Parameter>(), masks: null, task.Loss);
        var perEpoch = task.StepsPerEpoch(options.BatchSize);
        var total = (long)perEpoch * options.DenseEpochs;
        var clock = new System.Diagnostics.Stopwatch();
        long done = 0;
        var recentLoss = new RunningMean();
        model.train();
        for (var epoch = 0; epoch < options.DenseEpochs; epoch++)
        {
            // Dense epochs use seeds below the pruning phase's, so the two never share an order.
            foreach (var (inputs, targets) in task.EpochBatches(options.Seed, -1 - epoch, options.BatchSize))
            {
                using var disposeInputs = inputs;
                using var disposeTargets = targets;
                cancellationToken.ThrowIfCancellationRequested();
                optimizer.LearningRate = options.DenseSchedule.At(options.Optimizer.LearningRate, done, total);
                clock.Restart();
                var loss = step.Run(inputs, targets, 0);
                times.Add(clock.Elapsed.TotalMilliseconds);
                recentLoss.Add(loss);
                done++;
                if (done % 20 == 0 || done == total)
                    progress?.Report(new TrainingProgress("dense", epoch + 1, options.DenseEpochs, done, total, recentLoss.Take(), null, 1.0, 0));
            }
        }
        return times;
    }
}
