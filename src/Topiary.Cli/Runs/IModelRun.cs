using Topiary.Cli.Settings;
using Topiary.Experiments;
using Topiary.Serialization;

namespace Topiary.Cli.Runs;

/// <summary>
/// What differs between the kinds of model on the command line: the data each reads, the model it starts from and the
/// settings it records. Everything else (checkpoints and resume, the pipeline, the outputs, the summary, the comparison)
/// is one path for all of them (<see cref="PruneRun"/>, <see cref="ComparisonRunner"/>). <see cref="ModelRuns"/> picks one.
/// </summary>
internal interface IModelRun
{
    /// <summary>Reads the data and the starting model of a <c>prune</c> run; bad input is reported here, before anything costly.</summary>
    PreparedRun Prepare(PruneSettings settings, PruningOptions options);

    /// <summary>Reads the data of a comparison: a subject per seed, with what the comparison records and prints.</summary>
    PreparedComparison Prepare(CompareSettings settings, PruningOptions dense);

    /// <summary>Reads the test data of a loaded model file of this kind (<see cref="EvalRun"/> measures it).</summary>
    PreparedEval Prepare(LoadedModel loaded, EvalSettings settings);
}

/// <summary>A <c>prune</c> run ready to start.</summary>
/// <param name="Subject">The model and the seed's data.</param>
/// <param name="Start">A saved model to start from instead of dense training, or null.</param>
/// <param name="Hyperparameters">The settings the report records.</param>
/// <param name="Description">The run's first line after the version: model, data and split.</param>
internal sealed record PreparedRun(IExperimentSubject Subject, StartingPoint? Start, Dictionary<string, object> Hyperparameters, string Description)
    : IDisposable
{
    public void Dispose() => Subject.Dispose();
}

/// <summary>A comparison ready to start.</summary>
/// <param name="Architecture">The compared architecture.</param>
/// <param name="Dataset">Its data's location, for the report.</param>
/// <param name="SubjectFor">One seed's subject.</param>
/// <param name="Settings">What this kind of model adds to the recorded settings.</param>
/// <param name="Description">The comparison's first line after the version.</param>
internal sealed record PreparedComparison(string Architecture, string Dataset, Func<int, IExperimentSubject> SubjectFor,
    IReadOnlyDictionary<string, object> Settings, string Description);

/// <summary>An <c>eval</c> ready to measure: the task whose test split measures the model, and what the line says about it.</summary>
/// <param name="Task">The test data and metric.</param>
/// <param name="Data">The test data in words (how many images, characters or pairs of what, and the seed of the split).</param>
/// <param name="Owner">What holds the data, disposed with this.</param>
/// <param name="Extra">Further measurements of the model for the same line (BLEU), or null.</param>
internal sealed record PreparedEval(Topiary.Training.ITrainingTask Task, string Data, IDisposable? Owner,
    Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>, string>? Extra = null) : IDisposable
{
    public void Dispose() => Owner?.Dispose();
}
