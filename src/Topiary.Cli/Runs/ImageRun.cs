using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;
using Topiary.Cli.Settings;
using Topiary.Comparison;
using Topiary.Data;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Runs;

/// <summary>LeNet-5 and LeNet-300-100 on IDX images: relevance-gated decay with iterative pruning, gated by validation accuracy.</summary>
internal sealed class ImageRun : IModelRun
{
    public int Prune(PruneSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        if (settings.Resume is not { } directory) return Start(settings, logger, cancellationToken, resuming: false);
        // The run's own settings come from its recipe; any other option would make it a different run.
        if (GivenOptions.Of(settings).Select(o => o.Flag).FirstOrDefault(f => f != "--resume") is { } other)
            throw new CliUsageException($"{other}: cannot be combined with --resume (the run keeps the settings it was started with)");
        var recipe = RunRecipe.Read(directory, RunCheckpoints.Directory(directory));
        return Start(recipe.Settings(directory), logger, cancellationToken, resuming: true);
    }

    private static int Start(PruneSettings settings, ILogger logger, CancellationToken cancellationToken, bool resuming)
    {
        var options = settings.Options();
        var modelName = settings.ModelName;
        var dataDirectory = settings.DataDirectory;
        var (subset, from, outDirectory, threads) = (settings.Subset, settings.From, settings.OutDirectory, settings.ThreadCount);
        options.Validate();
        // A recipe's selector is checked on the architecture before any data is read or any epoch is trained.
        if (options.Recipe is { } recipe)
        {
            using var probe = ModelCatalog.Create(modelName);
            recipe.Selector.Select(probe);
        }

        var backend = BackendSummary.Start(threads, logger);
        var dataset = IdxReader.LoadDataset(dataDirectory);
        if (subset > dataset.Train.Images.Count)
            throw new CliUsageException($"--subset: {subset} is more than the {dataset.Train.Images.Count} training images in {dataDirectory}");
        using var data = ImageClassificationData.From(dataset, options.Seed, subset);
        Func<StartingPoint>? start = null;
        if (from is not null)
        {
            var loaded = ModelFile.Load(from);
            if (loaded.Architecture != modelName && settings.Model is not null)
                throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model but --model is {modelName}");
            modelName = loaded.Architecture;
            if (loaded.ImageSize != data.ImageSize)
                throw new CliUsageException($"--from: {from} expects {loaded.ImageSize}×{loaded.ImageSize} images but {dataDirectory} has {data.ImageSize}×{data.ImageSize}");
            start = () => new StartingPoint(loaded.Model, loaded.Masks);
        }

        using var resume = RunCheckpoints.Prepare(outDirectory, resuming, settings, threads);
        var checkpoints = new CheckpointOptions { Directory = RunCheckpoints.Directory(outDirectory), ResumeFrom = resume };
        var hyperparameters = Hyperparameters(options, settings.PresetName, modelName, subset, from, threads);
        System.Console.WriteLine($"topiary {ToolInfo.Version}: {modelName} on {data.Name} ({data.TrainCount} train / {data.ValidationImages.shape[0]} validation / {data.TestImages.shape[0]} test), method {options.Method}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        ExperimentResult result;
        try
        {
            result = TerminalProgress.Run(progress =>
                PruningExperiment.Run(modelName, data, options, hyperparameters, start, progress, logger, cancellationToken, checkpoints));
        }
        catch (OperationCanceledException e)
        {
            throw RunCheckpoints.Interrupted(e, outDirectory);
        }

        var written = RunOutputs.Write(outDirectory, result, data);
        Summary.Print(result.Report, written);
        return 0;
    }

    public int Compare(CompareSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var (modelName, dataDirectory, subset) = (settings.ModelName, settings.DataDirectory, settings.SubsetOrDefault);
        var perMethod = settings.MethodLabels.ToDictionary(m => m, settings.ForMethod);
        var dense = settings.Dense();
        foreach (var options in perMethod.Values) options.Validate();

        TorchBackend.SetThreads(settings.ThreadCount);
        var dataset = IdxReader.LoadDataset(dataDirectory);
        if (subset > dataset.Train.Images.Count)
            throw new CliUsageException($"--subset: {subset} is more than the {dataset.Train.Images.Count} training images in {dataDirectory}");
        var recorded = ComparisonRunner.Settings(settings, dense, perMethod);
        recorded["floor"] = dense.Floor;
        var plan = new ComparisonPlan(modelName, dataset.Directory, settings.MethodLabels, settings.SeedList, dense, m => perMethod[m],
            seed => new ImageComparisonSubject(dataset, modelName, seed, subset));
        return ComparisonRunner.Execute(settings, plan, recorded, $"{modelName} on {dataDirectory}", logger, cancellationToken);
    }

    public int Eval(LoadedModel loaded, EvalSettings settings)
    {
        var (file, dataDirectory) = (settings.File, settings.Data);
        if (settings.BleuPairs is not null) throw new CliUsageException($"--bleu-pairs: {file} holds a {loaded.Architecture} model, not a translation model");
        if (settings.Corpus is not null) throw new CliUsageException($"--corpus: {file} holds a {loaded.Architecture} image model");
        using var data = ImageClassificationData.From(IdxReader.LoadDataset(dataDirectory), seed: 0);
        if (data.ImageSize != loaded.ImageSize)
            throw new CliUsageException($"--data: {dataDirectory} has {data.ImageSize}×{data.ImageSize} images but the model expects {loaded.ImageSize}×{loaded.ImageSize}");
        using var masks = new PruningMasks(loaded.Model.named_parameters().Where(p => loaded.Masks.ContainsKey(p.name)));
        masks.CopyFrom(loaded.Masks);
        masks.ApplyToWeights();

        var test = Evaluation.Classify(loaded.Model, data.TestImages, data.TestLabels);
        var (total, nonzero) = SparsityStatistics.Model(loaded.Model);
        AnsiConsole.WriteLine($"{file}: {loaded.Architecture}, test accuracy {Summary.Percent(test.Metric)} on {data.TestImages.shape[0]} images of {data.Name}");
        AnsiConsole.WriteLine($"parameters {total.ToString("N0", CultureInfo.InvariantCulture)}, non-zero {nonzero.ToString("N0", CultureInfo.InvariantCulture)} ({Summary.Percent((double)nonzero / total)}), compression {((double)total / Math.Max(1, nonzero)).ToString("F1", CultureInfo.InvariantCulture)}×");
        var layers = new Table().AddColumns("tensor", "shape", "total", "non-zero", "remaining");
        foreach (var layer in SparsityStatistics.PerLayer(masks))
            layers.AddRow(layer.Name, string.Join("×", layer.Shape), layer.Total.ToString("N0", CultureInfo.InvariantCulture),
                layer.Nonzero.ToString("N0", CultureInfo.InvariantCulture), Summary.Percent(layer.RemainingFraction));
        AnsiConsole.Write(layers);
        return 0;
    }

    private static Dictionary<string, object> Hyperparameters(PruningOptions o, string preset, string model, int? subset, string? from, int threads)
    {
        var settings = new Dictionary<string, object> { ["preset"] = preset, ["model"] = model, ["floor"] = o.Floor };
        foreach (var (key, value) in TrainingRecord.Settings(o, subset, from, threads)) settings[key] = value;
        settings["target_sparsity"] = o.TargetSparsity;
        settings["twt"] = o.Twt;
        settings["pwe"] = o.Pwe;
        settings["growth"] = o.Growth;
        settings["recipe"] = o.Recipe is null ? "none" : $"{o.Recipe.Schedule.Kind} schedule, selector {o.Recipe.Selector.NamePattern ?? "*"}";
        return settings;
    }
}
