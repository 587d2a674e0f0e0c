using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Analysis;
using Topiary.Backend;
using Topiary.Data;
using Topiary.Regularization;
using Topiary.Pruning;
using Topiary.Serialization;
using static TorchSharp.torch;
using Topiary.Models;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary analyze</c>: Lipschitz bounds by Gram iteration and path-norms of a saved model; with <c>--koopman</c>,
/// <c>--nuclear-norm</c>, <c>--grad-norm</c> the diagnostics of issue 22, with <c>--neural-collapse</c> that of seed paper #57, and with <c>--gate</c> its relevance gate on a batch.
/// </summary>
internal sealed class AnalyzeCommand(Microsoft.Extensions.Logging.ILogger logger) : Command<AnalyzeSettings>
{
    public override int Execute(CommandContext context, AnalyzeSettings settings, CancellationToken cancellationToken)
    {
        var (file, iterations) = (settings.File, settings.Iterations);

        var loaded = CatalogArchitectures.LoadImageModel(file);
        TorchBackend.EnsureVerified(logger);
        loaded.ApplyMasks();
        loaded.Model.eval();

        var layers = LipschitzAnalysis.Layers(loaded.Model, zeros(1, 1, loaded.ImageSize, loaded.ImageSize), iterations);
        var table = new Table().AddColumns("layer", "kind", "input", "spectral-norm bound (Gram iteration)");
        foreach (var layer in layers)
            table.AddRow(layer.Name, layer.Kind, layer.InputSize == 0 ? "" : $"{layer.InputSize}×{layer.InputSize}", F(layer.Bound));
        AnsiConsole.WriteLine($"{file}: {loaded.Architecture}, {iterations} Gram iterations");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"Lipschitz upper bound (product of layer bounds): {F(LipschitzAnalysis.Product(layers))}");
        AnsiConsole.WriteLine($"path-norms: L1 {F(PathNorm.Compute(loaded.Model, 1, loaded.ImageSize))}, L2 {F(PathNorm.Compute(loaded.Model, 2, loaded.ImageSize))}");
        if (settings.Koopman) ShowKoopman(loaded);
        if (!settings.ReadsData) return 0;
        using var data = ImageClassificationData.From(IdxReader.LoadDataset(settings.Data), seed: 0);
        if (data.ImageSize != loaded.ImageSize)
            throw new CliUsageException($"--data: {settings.Data} has {data.ImageSize}×{data.ImageSize} images but the model expects {loaded.ImageSize}×{loaded.ImageSize}");
        if (settings.NuclearNorm) ShowNuclearNorm(loaded, data);
        if (settings.NeuralCollapse) ShowNeuralCollapse(loaded, data);
        if (settings.GradNorm) ShowGradNorm(loaded, data, settings.Samples, cancellationToken);
        if (settings.Gate) ShowGate(loaded, data, settings);
        return 0;
    }

    // #70: per dense layer, in log10 because the factor of a 500-wide layer overflows a double.
    private static void ShowKoopman(LoadedModel loaded)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var layers = KoopmanBound.Layers(loaded.Model);
        var table = new Table().AddColumns("dense layer", "rank r", "||W||", "condition number", "log10 factor (s = r/2)");
        foreach (var layer in layers)
            table.AddRow(layer.Name, layer.Rank.ToString(CultureInfo.InvariantCulture), F(layer.SpectralNorm), F(layer.ConditionNumber), F(layer.Log10Factor));
        AnsiConsole.WriteLine($"Koopman-bound weight factor ||W||^s/det_r(W'W)^(1/4) per dense layer (1 for orthogonal weights; ∞ when rank-deficient), {Seconds(watch)}:");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"log10 of the product: {F(KoopmanBound.Log10Product(layers))}");
    }

    // #65: on the whole test split, one softmax row per image.
    private static void ShowNuclearNorm(LoadedModel loaded, ImageClassificationData data)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var metric = MatrixNuclearNorm.Measure(loaded.Model, data.TestImages);
        AnsiConsole.WriteLine($"matrix nuclear-norm of the softmax predictions on the {metric.Rows} test images of {data.Name} ({metric.Rows}×{metric.Columns}), {Seconds(watch)}:");
        AnsiConsole.WriteLine($"||A||_*/B {F(metric.Exact)} (SVD), L1,2 approximation {F(metric.Approximation)}");
    }

    // #57: the collapse its regularizers induce, on the whole test split.
    private static void ShowNeuralCollapse(LoadedModel loaded, ImageClassificationData data)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var metric = NeuralCollapseAnalysis.Measure(loaded.Model, data.TestImages, data.TestLabels);
        AnsiConsole.WriteLine($"neural collapse of the penultimate features on the {metric.Examples} test images of {data.Name} ({metric.Classes} classes, {metric.Dimension} features; 0 = collapsed onto a simplex ETF), {Seconds(watch)}:");
        AnsiConsole.WriteLine($"NC1 tr(Sw Sb+)/K {F(metric.Nc1)}, tr(Sw)/tr(Sb) {F(metric.WithinOverBetween)}; class means: equinorm (std/mean of norms) {F(metric.Equinorm)}, equiangularity {F(metric.Equiangularity)}, max |cos + 1/(K-1)| {F(metric.MaxCosineGap)}");
    }

    // #30: one backward pass per image, over the unpruned weights.
    private static void ShowGradNorm(LoadedModel loaded, ImageClassificationData data, int samples, CancellationToken cancellationToken)
    {
        if (samples > data.TrainCount)
            throw new CliUsageException($"--samples: {samples} is more than the {data.TrainCount} training images of {data.Directory}");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var measure = GradientNormComplexity.Measure(loaded.Model, data.TrainImages.narrow(0, 0, samples), data.TrainLabels.narrow(0, 0, samples),
            (output, target) => nn.functional.cross_entropy(output, target), masks: loaded.Masks, cancellationToken: cancellationToken);
        AnsiConsole.WriteLine($"gradient-norm complexity on the first {samples} training images of {data.Name} over {measure.Parameters:N0} unpruned weights, {Seconds(watch)}:");
        AnsiConsole.WriteLine($"mean ||grad loss_i||^2 {F(measure.MeanSquaredNorm)}; ||mean grad||^2 {F(measure.SquaredNormOfMean)} for contrast");
    }

    // The relevance gate on one batch of training images (issue 16): does this α select anything on this model?
    private static void ShowGate(LoadedModel loaded, ImageClassificationData data, AnalyzeSettings settings)
    {
        using var scope = NewDisposeScope();
        var count = Math.Min(AnalyzeSettings.GateBatch, data.TrainCount);
        var parameters = loaded.Model.named_parameters().Where(p => loaded.Masks.Count == 0 || loaded.Masks.ContainsKey(p.name))
            .Select(p => (p.name, p.parameter)).ToList();
        var gate = settings.RelevanceGate;
        var layers = GateProbe.Measure(loaded.Model, data.TrainImages.narrow(0, 0, count), data.TrainLabels.narrow(0, 0, count),
            (output, target) => nn.functional.cross_entropy(output, target), parameters, gate, loaded.Masks);
        string Level(double level) => (100 * level).ToString("0.#", CultureInfo.InvariantCulture) + "%";
        // Two narrow tables rather than one wide one, so that an 80-column terminal does not wrap the numbers.
        var signal = new Table().Collapse().AddColumns(["tensor", "alpha", .. GateQuantiles.Levels.Select(l => "|g| " + Level(l))]);
        var gates = new Table().Collapse().AddColumns(["tensor", .. GateQuantiles.Levels.Select(l => "gate " + Level(l)), "gate < 1/2"]);
        foreach (var layer in layers)
        {
            signal.AddRow([layer.Name, G3(layer.Alpha), .. layer.Signal.Select(G3)]);
            gates.AddRow([layer.Name, .. layer.Gate.Select(G3), Summary.Percent(layer.BelowHalf)]);
        }
        var alpha = gate.AlphaQuantile is { } q ? $"auto:{q.ToString(CultureInfo.InvariantCulture)} (the {Level(q)} quantile of each tensor's |g|)" : G3(gate.Alpha);
        AnsiConsole.WriteLine($"relevance gate exp(-|g|/alpha) on the first {count} training images of {data.Name}");
        AnsiConsole.WriteLine($"(mean cross-entropy), over unpruned weights; alpha {alpha}:");
        AnsiConsole.Write(signal);
        AnsiConsole.Write(gates);
    }

    private static string Seconds(System.Diagnostics.Stopwatch watch) =>
        $"{watch.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)} s";

    private static string G3(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
