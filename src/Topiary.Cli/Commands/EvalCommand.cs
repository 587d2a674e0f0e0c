using System.Globalization;
using Spectre.Console;
using Topiary.Backend;
using Topiary.Data;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary eval</c>: test accuracy and sparsity of a saved model.</summary>
internal static class EvalCommand
{
    public const string Help = """
        topiary eval --model-file FILE [--data DIR]   test accuracy and sparsity of a saved model

          --model-file FILE   a model written by topiary prune (model.topiary)
          --data DIR          IDX data set (default /usr/share/datasets/fashion-mnist)
          --corpus NAME       for a transformer-lm file: the corpus (default: the one it was trained on)
          --bleu-pairs N      for a transformer-mt file: test pairs BLEU translates (default 500)
        """;

    public static int Run(ArgumentReader args, Microsoft.Extensions.Logging.ILogger logger)
    {
        var file = args.String("model-file") ?? throw new CliUsageException("--model-file: required (the model.topiary of a run)");
        var dataDirectory = args.String("data", PruneCommand.DefaultDataDirectory);
        var corpus = args.String("corpus");
        var bleuPairs = args.Has("bleu-pairs") ? args.Int("bleu-pairs", 0) : (int?)null;
        args.RejectUnknown("eval");
        if (bleuPairs is < 1) throw new CliUsageException($"--bleu-pairs: must be at least 1, got {bleuPairs}");

        var loaded = ModelFile.Load(file);
        System.Console.WriteLine(BackendSummary.Line(TorchBackend.EnsureVerified(logger), get_num_threads()));
        if (loaded.Architecture == TransformerLanguageModel.ArchitectureName) return LanguageEvalCommand.Run(file, loaded, corpus);
        if (loaded.Architecture == TransformerTranslationModel.ArchitectureName)
        {
            if (corpus is not null) throw new CliUsageException($"--corpus: {file} holds a translation model; it reads the modules named in its metadata");
            return TranslationEvalCommand.Run(file, loaded, bleuPairs);
        }
        if (bleuPairs is not null) throw new CliUsageException($"--bleu-pairs: {file} holds a {loaded.Architecture} model, not a translation model");
        if (corpus is not null) throw new CliUsageException($"--corpus: {file} holds a {loaded.Architecture} image model");
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
}
