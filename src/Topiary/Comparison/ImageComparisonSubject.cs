using Microsoft.Extensions.Logging;
using Topiary.Data;
using Topiary.Models;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Comparison;

/// <summary>An image classifier of <see cref="ModelCatalog"/> on one seed's split of an IDX data set, pruned by <see cref="PruningExperiment"/>.</summary>
public sealed class ImageComparisonSubject : IComparisonSubject
{
    private readonly string modelName;
    private readonly ImageClassificationData data;

    /// <summary>Splits <paramref name="dataset"/> by <paramref name="seed"/> (first <paramref name="subset"/> training images only, when given).</summary>
    public ImageComparisonSubject(IdxDataset dataset, string modelName, int seed, int? subset = null)
    {
        this.modelName = modelName;
        data = ImageClassificationData.From(dataset, seed, subset);
        Task = new ImageClassificationTask(data);
    }

    /// <inheritdoc />
    public ITrainingTask Task { get; }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> CreateModel() => ModelCatalog.Create(modelName, data.ImageSize, data.Classes);

    /// <inheritdoc />
    public PrunedRun Prune(PruningOptions options, nn.Module<Tensor, Tensor> start, IReadOnlyDictionary<string, object> hyperparameters,
        IProgress<TrainingProgress>? progress, ILogger logger, CancellationToken cancellationToken)
    {
        var result = PruningExperiment.Run(modelName, data, options, hyperparameters, () => new StartingPoint(start, null), progress, logger, cancellationToken);
        return PrunedRun.Of(result, options.Floor);
    }

    /// <inheritdoc />
    public void Dispose() => data.Dispose();
}
