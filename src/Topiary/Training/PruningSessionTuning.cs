using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Tuning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Training;

public sealed partial class PruningSession
{
    /// <summary>
    /// One update of the tuned strength (<see cref="PruningMethod.Tuning"/>): the tuner reads the lower objective
    /// (the data loss of <paramref name="training"/> plus the method's regularizer) and the upper one (the loss of
    /// <paramref name="validation"/>) at the current weights, and changes the multiplier of the strength the next steps
    /// run with. Call it from time to time in your loop, for example before each <see cref="Evaluate(EvaluationResult)"/>;
    /// the weights are left as they were (the self-tuning network's best response is folded in by its own steps).
    /// The training losses are taken in training mode, the validation losses in evaluation mode.
    /// </summary>
    /// <param name="training">Training batches (a few: the Hessian-vector products run over all of them).</param>
    /// <param name="validation">Validation batches.</param>
    /// <param name="lossFunction">The data loss of (output, target), mean over the batch.</param>
    /// <param name="cancellationToken">Cancels the update; the weights are restored.</param>
    /// <exception cref="InvalidOperationException">The method is not tuned, or a list of batches is empty.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public TuningUpdate Tune(IReadOnlyList<(Tensor Inputs, Tensor Targets)> training, IReadOnlyList<(Tensor Inputs, Tensor Targets)> validation,
        Func<Tensor, Tensor, Tensor> lossFunction, CancellationToken cancellationToken = default)
    {
        var tuner = Tuner ?? throw new InvalidOperationException($"the method {Method.Name} is not tuned: set {nameof(PruningMethod)}.{nameof(PruningMethod.Tuning)}");
        if (training.Count == 0 || validation.Count == 0) throw new InvalidOperationException("tuning needs at least one training and one validation batch");
        var wasTraining = model.training;
        try
        {
            var problem = new TuningProblem
            {
                Parameters = model.parameters().Where(p => p.requires_grad).ToList(),
                Regularized = regularized,
                Regularizer = scheduled,
                ScheduledStrength = gamma.Current,
                Masks = Masks,
                TrainingBatches = training.Count,
                TrainingLoss = i => InMode(true, () => lossFunction(model.forward(training[i].Inputs), training[i].Targets)),
                ValidationBatches = validation.Count,
                ValidationLoss = i => InMode(false, () => lossFunction(model.forward(validation[i].Inputs), validation[i].Targets)),
            };
            var update = tuner.Update(problem, cancellationToken);
            tuningHistory.Add(new TuningRecord(Step, gamma.Current, update));
            return update;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    // The mode a loss is taken in: dropout and batch statistics as in training for the lower objective, as in
    // evaluation for the upper one.
    private Tensor InMode(bool training, Func<Tensor> loss)
    {
        model.train(training);
        return loss();
    }

    /// <summary>Puts back the history of tuning updates of a resumed run.</summary>
    internal void RestoreTuningHistory(IEnumerable<TuningRecord> records)
    {
        tuningHistory.Clear();
        tuningHistory.AddRange(records);
    }
}
