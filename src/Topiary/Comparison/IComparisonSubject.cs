using Microsoft.Extensions.Logging;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Comparison;

/// <summary>
/// What a comparison prunes on one seed: that seed's data as an <see cref="ITrainingTask"/>, a way to build
/// a fresh model, and the experiment that prunes a given starting model with a method's options. Images
/// (<see cref="ImageComparisonSubject"/>) and language models (<c>Topiary.Language.LanguageComparisonSubject</c>)
/// share the comparison loop through it.
/// </summary>
public interface IComparisonSubject : IDisposable
{
    /// <summary>The seed's data, loss and metric (dense training and the dense test metric use it).</summary>
    ITrainingTask Task { get; }

    /// <summary>A new, untrained model of the compared architecture.</summary>
    nn.Module<Tensor, Tensor> CreateModel();

    /// <summary>
    /// Prunes <paramref name="start"/> (a copy of the seed's dense model, owned by the caller) with
    /// <paramref name="options"/> and describes the run; the masks of the run are disposed before returning.
    /// </summary>
    PrunedRun Prune(PruningOptions options, nn.Module<Tensor, Tensor> start, IReadOnlyDictionary<string, object> hyperparameters,
        IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken);
}

/// <summary>The report of one pruning run and the validation bound it was held to (a floor, or a ceiling resolved from the dense model).</summary>
public sealed record PrunedRun(RunReport Report, double Bound)
{
    /// <summary>A finished experiment's run: its report is kept and its masks are disposed, as <see cref="IComparisonSubject.Prune"/> promises.</summary>
    public static PrunedRun Of(ExperimentResult experiment, double bound)
    {
        experiment.Masks.Dispose();
        return new PrunedRun(experiment.Report, bound);
    }
}
