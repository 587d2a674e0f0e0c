using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Pruning.Toolkit;
using Topiary.Quantization;
using Topiary.Training;
using Topiary.Experiments;
using Topiary.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary prune</c>: the training flags, and where a run starts from.</summary>
internal sealed class PruneSettings : TranslationPairSettings
{
    [CommandOption("--preset <NAME>")]
    [Description("base settings: demo (default) or paper, the authors' LeNet-5/Fashion-MNIST settings (lenet5, lenet300 only)")]
    public string? Preset { get; init; }

    [CommandOption("--recipe <FILE>")]
    [Description("lenet5, lenet300: JSON recipe: method, regularizer, schedule, selectors, per-layer limits (flags still win)")]
    [AppliesTo(ModelFamily.Image)]
    public string? Recipe { get; init; }

    [CommandOption("--from <FILE>")]
    [Description("start from a saved model of the same kind instead of dense training")]
    public string? From { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("continue the run in DIR (killed, interrupted or stopped) with the settings its run.json recorded; takes no other flag")]
    public string? Resume { get; init; }

    [CommandOption("--quantize <GRID>")]
    [Description("lenet5, lenet300: int8 or int4. Trains the pruning phase with fake-quantized weights (straight-through estimator, QReg; the same as adding --reg qat:1:bits=8) and writes the pruned model quantized: model.int8.tsparse (scales and integer levels in the sparse layout), model.tsparse (float32, for comparison) and model.int8.onnx (ONNX QDQ, int8 activations calibrated on training images), with their accuracies in the summary and report.json")]
    [AppliesTo(ModelFamily.Image)]
    public string? Quantize { get; init; }

    [CommandOption("--quantize-scale <S>")]
    [Description("with --quantize: channel (default: one scale per output unit) or tensor (one per weight tensor)")]
    [AppliesTo(ModelFamily.Image)]
    public string? QuantizeScale { get; init; }

    /// <summary>The grid <c>--quantize</c> asks for, or null.</summary>
    public QuantizationScheme? QuantizationScheme => QuantizeArgument.Scheme(Quantize, QuantizeScale);

    protected override string? AddedRegularizers => QuantizationScheme is { } scheme
        ? $"qat:1:bits={scheme.Bits}:channel={(scheme.Granularity == QuantizationGranularity.PerChannel ? 1 : 0)}"
        : null;

    /// <summary>The preset: the flag, or demo.</summary>
    public string PresetName => Preset ?? "demo";

    /// <summary>
    /// Whether the image demo stops at <see cref="ModelDefaults.DemoMaxSparsity"/> (not a flag): false for a run resumed from
    /// a run.json of version 1, written before the demo stopped there, so that it resumes with the defaults it started with.
    /// </summary>
    public bool DemoStops { get; set; } = true;

    protected override string DefaultModel => ModelDefaults.PruneModel;

    /// <summary>
    /// The run's options: the model's (or the preset's) defaults, then the method's, then a recipe's values, then the
    /// flags. <c>--method</c> with a recipe replaces the recipe's method and brings that method's defaults (LOBSTER's
    /// SGD at lr 0.1), as it does without one.
    /// </summary>
    public PruningOptions Options()
    {
        var defaults = ModelDefaults.Prune(ModelName, PresetName, DemoStops);
        PruningOptions options;
        if (Recipe is null) options = Over(defaults, Method ?? defaults.Options.Method.Name);
        else
        {
            var recipe = RecipeReader.Read(Recipe, PruningMethods.Names);
            recipe = recipe with { Method = Method ?? recipe.Method };
            if (Scope is not null) recipe = recipe with { Selector = recipe.Selector with { Scope = ParameterScopeOr(recipe.Selector.Scope) } };
            options = OverTraining(RecipeOptions.Apply(recipe, defaults, GivenMethodSettings));
        }
        return FlagNotTaken([options]) is { } error ? throw new CliUsageException(error) : options;
    }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        OneOf("--preset", Preset, Family == ModelFamily.Image ? ["demo", "paper"] : ["demo"]),
        .. QuantizeArgument.Errors(Quantize, QuantizeScale),
    ];
}
