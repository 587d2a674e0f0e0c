using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Commands;
using Topiary.Cli.Settings;
using Topiary.Augmentation;
using Topiary.Data;
using Topiary.Experiments;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Runs;

/// <summary>LeNet-5 and LeNet-300-100 on IDX images: relevance-gated decay with iterative pruning, gated by validation accuracy.</summary>
internal sealed class ImageRun : IModelRun
{
    public PreparedRun Prepare(PruneSettings settings, PruningOptions options)
    {
        var modelName = settings.ModelName;
        var dataDirectory = settings.DataDirectory;
        var (subset, from, threads) = (settings.Subset, settings.From, settings.ThreadCount);
        // A recipe's selector is checked on the architecture before any data is read or any epoch is trained.
        if (options.Selector is { } selector)
        {
            using var probe = ModelCatalog.Create(modelName);
            selector.Select(probe);
        }
        var dataset = LoadDataset(dataDirectory, subset);
        StartingPoint? start = null;
        if (from is not null)
        {
            var loaded = ModelFile.Load(from);
            if (loaded.Architecture != modelName && settings.Model is not null)
                throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model but --model is {modelName}");
            modelName = loaded.Architecture;
            if (loaded.ImageSize != dataset.Train.Images.Rows)
                throw new CliUsageException($"--from: {from} expects {loaded.ImageSize}×{loaded.ImageSize} images but {dataDirectory} has {dataset.Train.Images.Rows}×{dataset.Train.Images.Rows}");
            start = new StartingPoint(loaded.Model, loaded.Masks);
        }
        var regimen = Regimen(settings, options, dataset);
        var subject = ImageSubject.ForSeed(modelName, dataset, options.Seed, subset, regimen);
        var data = subject.Data;
        var hyperparameters = Hyperparameters(options, settings.PresetName, modelName, subset, from, threads);
        foreach (var (key, value) in Recorded(regimen, data.TrainCount)) hyperparameters[key] = value;
        return new PreparedRun(subject, start, hyperparameters,
            $"{modelName} on {data.Name} ({data.TrainCount} train / {data.ValidationImages.shape[0]} validation / {data.TestImages.shape[0]} test)");
    }

    public PreparedComparison Prepare(CompareSettings settings, PruningOptions dense)
    {
        var (modelName, dataDirectory, subset) = (settings.ModelName, settings.DataDirectory, settings.SubsetOrDefault);
        var dataset = LoadDataset(dataDirectory, subset);
        var regimen = Regimen(settings, dense, dataset);
        var recorded = new Dictionary<string, object> { ["floor"] = dense.Floor };
        var trainCount = ImageClassificationData.TrainingCountOf(subset ?? dataset.Train.Images.Count);
        // Recorded only when given, so that a comparison folder written before these flags existed is still reused.
        if (regimen is not null)
            foreach (var (key, value) in Recorded(regimen, regimen.Diet?.KeptCount(trainCount) ?? trainCount)) recorded[key] = value;
        return new PreparedComparison(modelName, dataset.Directory, seed => ImageSubject.ForSeed(modelName, dataset, seed, subset, regimen),
            recorded, $"{modelName} on {dataDirectory}");
    }

    /// <summary>The flags' data-level regularizers, refused in one line when cutout's square is wider than the images.</summary>
    private static ImageDataRegimen? Regimen(ImageSettings settings, PruningOptions training, IdxDataset dataset)
    {
        var regimen = settings.Regimen(training);
        var side = dataset.Train.Images.Rows;
        var stages = regimen?.Augmentation switch { AugmentationSequence sequence => sequence.Stages, { } single => [single], null => [] };
        foreach (var stage in stages)
        {
            if (stage is Cutout { Size: var size } && size > side)
                throw new CliUsageException($"--augment: cutout's size {size} is wider than the {side}×{side} images of {dataset.Directory}");
            if (stage is RandomShift { MaxPixels: var pixels } && pixels >= side)
                throw new CliUsageException($"--augment: a shift of {pixels} pixels moves the {side}×{side} images of {dataset.Directory} out of view");
        }
        return regimen;
    }

    /// <summary>What a report records of the data-level regularizers: their spelling, and the training images the diet kept.</summary>
    private static Dictionary<string, object> Recorded(ImageDataRegimen? regimen, int trainingImages)
    {
        var recorded = new Dictionary<string, object>
        {
            ["augment"] = regimen?.Augmentation is { } augmentation ? DataLevelArguments.Describe(augmentation) : "none",
            ["data_diet"] = regimen?.Diet is { } diet ? DataLevelArguments.Describe(diet) : "none",
        };
        if (regimen?.Diet is not null) recorded["data_diet_kept"] = trainingImages;
        return recorded;
    }

    private static IdxDataset LoadDataset(string directory, int? subset)
    {
        var dataset = IdxReader.LoadDataset(directory);
        if (subset > dataset.Train.Images.Count)
            throw new CliUsageException($"--subset: {subset} is more than the {dataset.Train.Images.Count} training images in {directory}");
        return dataset;
    }

    // The worst-class test accuracy, the objective of class-level GroupDRO (--reg groupdro), for eval's line.
    private static Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>, string> WorstClass(ImageClassificationData data) => model =>
    {
        var accuracies = Evaluation.ClassAccuracies(model, data.TestImages, data.TestLabels);
        var worst = Enumerable.Range(0, accuracies.Count).Where(c => !double.IsNaN(accuracies[c])).MinBy(c => accuracies[c]);
        return $", worst class {(100 * accuracies[worst]).ToString("F2", CultureInfo.InvariantCulture)}% (class {worst})";
    };

    public PreparedEval Prepare(LoadedModel loaded, EvalSettings settings)
    {
        var (file, dataDirectory) = (settings.File, settings.Data);
        if (settings.BleuPairs is not null) throw new CliUsageException($"--bleu-pairs: {file} holds a {loaded.Architecture} model, not a translation model");
        if (settings.Corpus is not null) throw new CliUsageException($"--corpus: {file} holds a {loaded.Architecture} image model");
        var data = ImageClassificationData.From(IdxReader.LoadDataset(dataDirectory), seed: 0);
        if (data.ImageSize != loaded.ImageSize)
        {
            data.Dispose();
            throw new CliUsageException($"--data: {dataDirectory} has {data.ImageSize}×{data.ImageSize} images but the model expects {loaded.ImageSize}×{loaded.ImageSize}");
        }
        return new PreparedEval(new ImageClassificationTask(data), $"{data.TestImages.shape[0]} images of {data.Name}", data, WorstClass(data));
    }

    private static Dictionary<string, object> Hyperparameters(PruningOptions o, string preset, string model, int? subset, string? from, int threads)
    {
        var settings = new Dictionary<string, object> { ["preset"] = preset, ["model"] = model, ["floor"] = o.Floor };
        foreach (var (key, value) in TrainingRecord.Settings(o, subset, from, threads)) settings[key] = value;
        settings["recipe"] = o.Method.Schedule is null ? "none" : $"{o.Method.Schedule.Kind} schedule, selector {o.Selector?.NamePattern ?? "*"}";
        return settings;
    }
}
