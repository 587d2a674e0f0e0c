using System.Text.Json.Nodes;
using Topiary.Augmentation;
using Topiary.Data;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>An image classifier of <see cref="ModelCatalog"/> (LeNet-5, LeNet-300-100) on one seed's split of an IDX data set.</summary>
public sealed class ImageSubject : IExperimentSubject
{
    private readonly ImageClassificationData data;

    /// <summary>
    /// Prunes <paramref name="architecture"/> on <paramref name="data"/>, which the subject now owns, with
    /// <paramref name="augmentation"/> applied to the training batches (dense and pruning phases), if given.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not in <see cref="ModelCatalog.Names"/>.</exception>
    public ImageSubject(string architecture, ImageClassificationData data, IBatchAugmentation? augmentation = null)
    {
        if (!ModelCatalog.Names.Contains(architecture))
            throw new ArgumentException($"unknown model '{architecture}' (expected one of: {string.Join(", ", ModelCatalog.Names)})", nameof(architecture));
        Architecture = architecture;
        this.data = data;
        var task = new ImageClassificationTask(data);
        Task = augmentation is null ? task : new AugmentedTask(task, augmentation);
        Dataset = new DatasetInfo(data.Name, data.Directory, data.TrainCount, (int)data.ValidationImages.shape[0], (int)data.TestImages.shape[0]);
    }

    /// <summary>
    /// Splits <paramref name="dataset"/> by <paramref name="seed"/> (the first <paramref name="subset"/> training images
    /// only, when given), then applies <paramref name="regimen"/>: its data diet keeps part of the training split, and
    /// its augmentation changes the training batches.
    /// </summary>
    public static ImageSubject ForSeed(string architecture, IdxDataset dataset, int seed, int? subset = null, ImageDataRegimen? regimen = null)
    {
        var data = ImageClassificationData.From(dataset, seed, subset);
        if (regimen?.Diet is { } diet)
        {
            using var full = data;
            data = full.WithTrainingExamples(ImageDataDiet.Kept(full, architecture, diet, regimen.Training with { Seed = seed }));
        }
        return new(architecture, data, regimen?.Augmentation);
    }

    /// <inheritdoc />
    public string Architecture { get; }

    /// <inheritdoc />
    public DatasetInfo Dataset { get; }

    /// <inheritdoc />
    public ITrainingTask Task { get; }

    /// <inheritdoc />
    public IReadOnlyList<string>? Methods => null;

    /// <inheritdoc />
    public double CeilingRatio => 1;

    /// <inheritdoc />
    public Func<string, string>? PartOf => null;

    /// <summary>The data behind the task.</summary>
    public ImageClassificationData Data => data;

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> CreateModel() => ModelCatalog.Create(Architecture, data.ImageSize, data.Classes);

    /// <inheritdoc />
    public RunObserver Observe() => new();

    /// <inheritdoc />
    public JsonObject ModelMetadata(RunReport report) => new() { ["dataset"] = data.Directory };

    /// <inheritdoc />
    public void SaveModel(string path, nn.Module<Tensor, Tensor> model, PruningMasks masks, JsonObject metadata) =>
        ModelFile.Save(path, Architecture, data.ImageSize, data.Classes, model, masks, metadata);

    /// <inheritdoc />
    public void Dispose() => data.Dispose();
}
