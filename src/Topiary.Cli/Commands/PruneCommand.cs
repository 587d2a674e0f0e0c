using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Cli.Console;
using Topiary.Data;
using Topiary.Experiments;
using Topiary.Models;
using Topiary.Pruning.Toolkit;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary prune</c>: relevance-gated weight decay with iterative pruning, end to end.</summary>
internal static class PruneCommand
{
    public const string DefaultDataDirectory = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "no-gamma-decay", "test-curve", "help" };

    public const string Help = """
        topiary prune [options]   train a dense model, then prune it with relevance-gated weight decay

          --model lenet5|lenet300     architecture (default lenet5); transformer-lm, transformer-mt: see topiary prune --model NAME --help
          --data DIR                  IDX data set (default /usr/share/datasets/fashion-mnist)
          --method relevance|l2|l1|none|lobster|hypersparse|gmp   method (default relevance); the last three are
                                      the competing methods, each with its own schedule and defaults:
                                      lobster = SGD lr 0.1, λ (--gamma) 1e-4, plateau/bisection pruning;
                                      hypersparse = HyperSparse penalty λ0 (--gamma) 1e-4 with the ART schedule;
                                      gmp = gradual magnitude pruning, polynomial schedule
          --reg NAME[:S],...          further regularizers at constant strengths, e.g. spectral:1e-3,so:1e-4
                                      (see docs/regularizers.md for the names)
          --recipe FILE               JSON recipe: method, regularizer, schedule, selectors, per-layer limits (flags still win)
          --target-sparsity S         final sparsity of gmp and hypersparse, in (0,1) (default 0.9)
          --twt X                     lobster: tolerated relative validation-loss worsening per threshold (default 0.05)
          --pwe N                     lobster: plateau patience in evaluations (default 1)
          --growth η                  hypersparse: growth of λ per epoch, > 1 (default 2)
          --gamma G                   γ0, regularization strength (default 1e-3)
          --alpha A                   α of exp(-|∂L/∂w|/α) (default 1)
          --no-gamma-decay            keep γ constant instead of decaying it over an epoch after each crop
          --test-curve                also measure test accuracy before every crop (report only; one test pass per crop)
          --scope all|weights         tensors regularized and pruned (default all: weights and biases)
          --crop-fraction T           fraction of remaining parameters removed per crop, in (0,1) (default 0.08)
          --floor B                   validation accuracy floor for cropping and selection, in [0,1] (default 0.895)
          --eval-every E              evaluate every E batches (default 100)
          --patience P                stop after P evaluations without a smaller model at the floor (default 25)
          --dense-epochs N            epochs of dense training before pruning (default 4)
          --epochs N                  epoch budget of the pruning phase (default 12)
          --batch-size N              mini-batch size (default 100)
          --lr LR                     learning rate (default 1e-3)
          --optimizer adam|sgd|muon|steepest   optimizer (default adam); --momentum M for sgd and muon (default 0.9)
          --seed S                    seed of initialization, split and batch order (default 1234)
          --subset N                  use only the first N training images
          --from FILE                 start from a saved model instead of dense training
          --out DIR                   output folder (default runs/<timestamp>); checkpoints go to DIR/checkpoint
          --resume DIR                continue the run in DIR (killed, interrupted or stopped) with its own settings
          --preset demo|paper         base settings; paper = the authors' LeNet-5/Fashion-MNIST settings
          --threads N                 libtorch threads (default: all cores)
        """;

    public static int Run(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        if (args.String("model") == TransformerLanguageModel.ArchitectureName) return LanguagePruneCommand.Run(args, logger, cancellationToken);
        if (args.String("model") == TransformerTranslationModel.ArchitectureName) return TranslationPruneCommand.Run(args, logger, cancellationToken);
        if (args.Has("resume")) return Resume(args, logger, cancellationToken);
        return Start(args, logger, cancellationToken, resuming: false);
    }

    // --- resume: begin ---
    private static string CheckpointDirectory(string outDirectory) => Path.Combine(outDirectory, "checkpoint");

    // The run's own settings come from its recipe; any other option would make it a different run.
    private static int Resume(ArgumentReader args, ILogger logger, CancellationToken cancellationToken)
    {
        var directory = args.String("resume")!;
        if (args.Given.Keys.FirstOrDefault(k => k != "resume") is { } other)
            throw new CliUsageException($"--{other}: cannot be combined with --resume (the run keeps the settings it was started with)");
        var recipe = RunRecipe.Read(directory, CheckpointDirectory(directory));
        return Start(new ArgumentReader(recipe.ToArguments(directory), Flags), logger, cancellationToken, resuming: true);
    }

    private static TrainingCheckpoint? PrepareCheckpoints(string outDirectory, bool resuming, ArgumentReader args, int threads)
    {
        var directory = CheckpointDirectory(outDirectory);
        var last = Path.Combine(directory, CheckpointOptions.LastFileName);
        if (!resuming)
        {
            if (File.Exists(last))
                throw new CliUsageException($"--out: {outDirectory} already holds a run's checkpoint; continue it with --resume {outDirectory} or choose another --out");
            RunRecipe.From(args.Given, threads).Write(directory);
            return null;
        }
        if (!File.Exists(last))
        {
            System.Console.WriteLine($"resume: {outDirectory} has no checkpoint yet (the run stopped before pruning began); starting it again");
            return null;
        }
        var checkpoint = TrainingCheckpoint.Load(last);
        System.Console.WriteLine($"resume: continuing from {last} at pruning step {checkpoint.State.Step}");
        return checkpoint;
    }

    private static RunInterruptedException Interrupted(OperationCanceledException e, string outDirectory)
    {
        var how = $"continue with: topiary prune --resume {outDirectory}";
        return new RunInterruptedException(e is TrainingInterruptedException { CheckpointPath: { } path } saved
            ? $"stopped at pruning step {saved.Step}; checkpoint written to {path}; {how}"
            : $"stopped before the first checkpoint (during dense training); {how} (it starts again)", e);
    }
    // --- resume: end ---

    private static int Start(ArgumentReader args, ILogger logger, CancellationToken cancellationToken, bool resuming)
    {
        var preset = args.Choice("preset", "demo", new[] { "demo", "paper" });
        var options = OptionsFor(args, preset, args.String("recipe"));
        var modelName = args.Choice("model", "lenet5", ModelCatalog.Names.ToArray());
        var dataDirectory = args.String("data", DefaultDataDirectory);
        var subset = args.Has("subset") ? args.Int("subset", 0) : (int?)null;
        var from = args.String("from");
        var (outDirectory, threads) = RunFlags.Read(args);
        args.RejectUnknown("prune");
        options.Validate();
        // A recipe's selector is checked on the architecture before any data is read or any epoch is trained.
        if (options.Recipe is { } recipe)
        {
            using var probe = ModelCatalog.Create(modelName);
            recipe.Selector.Select(probe);
        }
        if (subset is < 20) throw new CliUsageException($"--subset: must be at least 20, got {subset}");

        var backend = BackendSummary.Start(threads, logger);
        var dataset = IdxReader.LoadDataset(dataDirectory);
        if (subset > dataset.Train.Images.Count)
            throw new CliUsageException($"--subset: {subset} is more than the {dataset.Train.Images.Count} training images in {dataDirectory}");
        Func<StartingPoint>? start = null;
        if (from is not null)
        {
            var loaded = ModelFile.Load(from);
            if (loaded.Architecture != modelName && args.Has("model"))
                throw new CliUsageException($"--from: {from} holds a {loaded.Architecture} model but --model is {modelName}");
            modelName = loaded.Architecture;
            if (loaded.ImageSize != dataset.Train.Images.Rows)
                throw new CliUsageException($"--from: {from} expects {loaded.ImageSize}×{loaded.ImageSize} images but {dataDirectory} has {dataset.Train.Images.Rows}×{dataset.Train.Images.Rows}");
            start = () => new StartingPoint(loaded.Model, loaded.Masks);
        }
        using var subject = new ImageSubject(modelName, ImageClassificationData.From(dataset, options.Seed, subset));
        var data = subject.Data;

        using var resume = PrepareCheckpoints(outDirectory, resuming, args, threads);
        var checkpoints = new CheckpointOptions { Directory = CheckpointDirectory(outDirectory), ResumeFrom = resume };
        var hyperparameters = Hyperparameters(options, preset, modelName, subset, from, threads);
        System.Console.WriteLine($"topiary {ToolInfo.Version}: {modelName} on {data.Name} ({data.TrainCount} train / {data.ValidationImages.shape[0]} validation / {data.TestImages.shape[0]} test), method {options.Method}, seed {options.Seed}");
        System.Console.WriteLine(BackendSummary.Line(backend, threads));

        ExperimentResult result;
        try
        {
            result = TerminalProgress.Run(progress =>
                Experiment.Run(subject, options, hyperparameters, start?.Invoke(), checkpoints, progress, logger, cancellationToken));
        }
        catch (OperationCanceledException e)
        {
            throw Interrupted(e, outDirectory);
        }

        var written = RunOutputs.Write(outDirectory, result, subject);
        Summary.Print(result.Report, written);
        return 0;
    }

    /// <summary>
    /// The run's options: the preset, then the method's defaults, then a recipe's values, then the flags. <c>--method</c>
    /// with a recipe replaces the recipe's method and brings that method's defaults (LOBSTER's SGD at lr 0.1), as it does
    /// without one.
    /// </summary>
    internal static PruningOptions OptionsFor(ArgumentReader args, string preset, string? recipeFile)
    {
        var baseline = preset == "paper" ? PruningOptions.Paper : new PruningOptions();
        if (recipeFile is null) return ReadOptions(args, baseline);
        var recipe = RecipeReader.Read(recipeFile, PruningMethods.Names);
        recipe = recipe with { Method = args.String("method", recipe.Method) };
        if (args.Has("scope")) recipe = recipe with { Selector = recipe.Selector with { Scope = Scope(args, recipe.Selector.Scope) } };
        return ReadOptionsOver(args, RecipeOptions.Apply(recipe, baseline));
    }

    internal static PruningOptions ReadOptions(ArgumentReader args, PruningOptions baseline)
    {
        // A competing method brings its own defaults (e.g. LOBSTER's SGD lr 0.1); explicit flags still win.
        var defaults = PruningMethods.Defaults(args.String("method", baseline.Method), baseline);
        return ReadOptionsOver(args, defaults);
    }

    internal static PruningOptions ReadOptionsOver(ArgumentReader args, PruningOptions defaults) => defaults with
    {
        Method = args.String("method", defaults.Method),
        Regularizers = args.String("reg") ?? defaults.Regularizers,
        Gamma = args.Double("gamma", defaults.Gamma),
        Alpha = args.Double("alpha", defaults.Alpha),
        GammaDecay = !args.Flag("no-gamma-decay") && defaults.GammaDecay,
        TestCurve = args.Flag("test-curve") || defaults.TestCurve,
        RegularizedScope = Scope(args, defaults.RegularizedScope),
        PrunedScope = Scope(args, defaults.PrunedScope),
        CropFraction = args.Double("crop-fraction", defaults.CropFraction),
        Floor = args.Double("floor", defaults.Floor),
        EvalEvery = args.Int("eval-every", defaults.EvalEvery),
        Patience = args.Int("patience", defaults.Patience),
        DenseEpochs = args.Int("dense-epochs", defaults.DenseEpochs),
        Epochs = args.Int("epochs", defaults.Epochs),
        BatchSize = args.Int("batch-size", defaults.BatchSize),
        LearningRate = args.Double("lr", defaults.LearningRate),
        Optimizer = args.String("optimizer", defaults.Optimizer),
        Momentum = args.Double("momentum", defaults.Momentum),
        Seed = args.Int("seed", defaults.Seed),
        TargetSparsity = args.Double("target-sparsity", defaults.TargetSparsity),
        Twt = args.Double("twt", defaults.Twt),
        Pwe = args.Int("pwe", defaults.Pwe),
        Growth = args.Double("growth", defaults.Growth),
    };

    private static ParameterScope Scope(ArgumentReader args, ParameterScope fallback) =>
        args.String("scope") switch
        {
            null => fallback,
            "all" => ParameterScope.WeightsAndBiases,
            "weights" => ParameterScope.Weights,
            var other => throw new CliUsageException($"--scope: unknown value '{other}' (expected all or weights)"),
        };

    private static Dictionary<string, object> Hyperparameters(PruningOptions o, string preset, string model, int? subset, string? from, int threads)
    {
        var settings = new Dictionary<string, object> { ["preset"] = preset, ["model"] = model, ["floor"] = o.Floor };
        foreach (var (key, value) in TrainingSettings(o, subset, from, threads)) settings[key] = value;
        settings["target_sparsity"] = o.TargetSparsity;
        settings["twt"] = o.Twt;
        settings["pwe"] = o.Pwe;
        settings["growth"] = o.Growth;
        settings["recipe"] = o.Recipe is null ? "none" : $"{o.Recipe.Schedule.Kind} schedule, selector {o.Recipe.Selector.NamePattern ?? "*"}";
        return settings;
    }

    /// <summary>The settings every pruning run records, whatever its task (images or text).</summary>
    internal static IEnumerable<KeyValuePair<string, object>> TrainingSettings(PruningOptions o, int? subset, string? from, int threads) => new Dictionary<string, object>
    {
        ["method"] = o.Method,
        ["reg"] = o.Regularizers ?? "none",
        ["gamma"] = o.Gamma,
        ["alpha"] = o.Alpha,
        ["gamma_decay"] = o.GammaDecay,
        ["test_curve"] = o.TestCurve,
        ["scope"] = o.PrunedScope == ParameterScope.Weights ? "weights" : "all",
        ["crop_fraction"] = o.CropFraction,
        ["eval_every"] = o.EvalEvery,
        ["patience"] = o.Patience,
        ["dense_epochs"] = from is null ? o.DenseEpochs : 0,
        ["epochs"] = o.Epochs,
        ["batch_size"] = o.BatchSize,
        ["lr"] = o.LearningRate,
        ["optimizer"] = o.Optimizer,
        ["momentum"] = o.Momentum,
        ["seed"] = o.Seed,
        ["subset"] = subset is { } s ? s : "none",
        ["from"] = from ?? "none",
        ["threads"] = threads,
    };
}
