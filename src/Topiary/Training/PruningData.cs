using static TorchSharp.torch;

namespace Topiary.Training;

/// <summary>
/// A run's data as batches of (inputs, targets): the training batches of each epoch, the validation batches (which
/// choose what is kept) and, optionally, the test batches (reported once per pruning event and for the result). Any
/// source works: lists of tensors, lazy enumerables, TorchSharp's <c>DataLoader</c>. A run never disposes the
/// tensors a source hands out. For a resumed run to continue exactly, an epoch's batches must depend on the epoch
/// only (seed a shuffling loader per epoch, as <see cref="FromEpochs"/> allows).
/// </summary>
public sealed class PruningData
{
    private PruningData(Func<int, IEnumerable<(Tensor, Tensor)>> trainEpoch, IEnumerable<(Tensor, Tensor)> validation, IEnumerable<(Tensor, Tensor)>? test)
    {
        TrainEpoch = trainEpoch;
        Validation = validation;
        Test = test;
    }

    /// <summary>The training batches of an epoch (0-based).</summary>
    public Func<int, IEnumerable<(Tensor Inputs, Tensor Targets)>> TrainEpoch { get; }

    /// <summary>The validation batches.</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> Validation { get; }

    /// <summary>The test batches, if any.</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)>? Test { get; }

    /// <summary>The same training batches every epoch.</summary>
    public static PruningData From(IEnumerable<(Tensor Inputs, Tensor Targets)> train, IEnumerable<(Tensor Inputs, Tensor Targets)> validation,
        IEnumerable<(Tensor Inputs, Tensor Targets)>? test = null) => new(_ => train, validation, test);

    /// <summary>Training batches by epoch (e.g. shuffled with a seed derived from the epoch).</summary>
    public static PruningData FromEpochs(Func<int, IEnumerable<(Tensor Inputs, Tensor Targets)>> trainEpoch,
        IEnumerable<(Tensor Inputs, Tensor Targets)> validation, IEnumerable<(Tensor Inputs, Tensor Targets)>? test = null) => new(trainEpoch, validation, test);

    /// <summary>
    /// TorchSharp's dictionary loaders (a <c>Dataset</c> whose samples are dictionaries), reading inputs and targets
    /// under <paramref name="inputKey"/> and <paramref name="targetKey"/>.
    /// </summary>
    public static PruningData From(IEnumerable<Dictionary<string, Tensor>> train, IEnumerable<Dictionary<string, Tensor>> validation,
        IEnumerable<Dictionary<string, Tensor>>? test = null, string inputKey = "data", string targetKey = "label") =>
        From(Pairs(train, inputKey, targetKey), Pairs(validation, inputKey, targetKey), test is null ? null : Pairs(test, inputKey, targetKey));

    /// <summary>TorchSharp's list loaders (a <c>TensorDataset</c> of inputs and targets).</summary>
    public static PruningData From(IEnumerable<IList<Tensor>> train, IEnumerable<IList<Tensor>> validation, IEnumerable<IList<Tensor>>? test = null) =>
        From(Pairs(train), Pairs(validation), test is null ? null : Pairs(test));

    private static IEnumerable<(Tensor, Tensor)> Pairs(IEnumerable<Dictionary<string, Tensor>> batches, string inputKey, string targetKey)
    {
        foreach (var batch in batches)
        {
            if (!batch.TryGetValue(inputKey, out var inputs) || !batch.TryGetValue(targetKey, out var targets))
                throw new ArgumentException($"a batch lacks '{inputKey}' or '{targetKey}' (it has {string.Join(", ", batch.Keys)})");
            yield return (inputs, targets);
        }
    }

    private static IEnumerable<(Tensor, Tensor)> Pairs(IEnumerable<IList<Tensor>> batches)
    {
        foreach (var batch in batches)
        {
            if (batch.Count < 2) throw new ArgumentException($"a batch holds {batch.Count} tensors; inputs and targets are needed");
            yield return (batch[0], batch[1]);
        }
    }
}
